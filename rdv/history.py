"""The shape of a « historique » line, shared by every history shown to agents (RDV, usager)."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    date: datetime
    author: str
    action: str
    changes: list[Change] = field(default_factory=list)
