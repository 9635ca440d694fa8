import os

# Playwright's sync API runs an asyncio loop in the test thread; Django then refuses ORM calls
# from that thread (the test's own set-up and the database flush). The project has no async code
# for this check to protect.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
