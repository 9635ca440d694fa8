"""Measures of the whole deployment, outside Django's commands: `make loadtest` (bench/loadtest.py)."""
