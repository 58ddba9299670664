"""What an append returns: the entries' positions and the checkpoint that covers them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Appended:
    seq: int
    leaf_hash: bytes


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root_hash: bytes
    note: str
    created_at: datetime


@dataclass(frozen=True)
class AppendResult:
    entries: tuple[Appended, ...]
    checkpoint: StoredCheckpoint
