"""The verify report: every problem with its entry index, kind and a sentence.

The CLI and the API only render it; exit code 0 when intact, 1 otherwise. A problem's
sentence and a note are ``domain.messages.Message`` (shown in the reader's language); the
JSON form keeps the English sentence under ``message`` and, for translation when it is read
back (a verify job's stored report), its template and parameters under ``text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.messages import as_data, from_data


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    index: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "kind": self.kind, "message": str(self.message),
                "text": as_data(self.message)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Problem:
        """A problem of a stored report; one stored before ``text`` existed reads as English."""
        return cls(str(data.get("kind")), from_data(data.get("text"), str(data.get("message"))),
                   data.get("index"))


@dataclass
class VerifyReport:
    source: str
    entries: int = 0
    checkpoints: int = 0
    objects: int = 0
    latest_checkpoint_size: int | None = None
    root_hash: str | None = None
    checks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        # Fail closed: a report that checked nothing is not a pass.
        return not self.problems and bool(self.checks)

    def add(self, kind: str, message: str, index: int | None = None) -> None:
        self.problems.append(Problem(kind, message, index))

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source": self.source,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "objects": self.objects,
            "latest_checkpoint_size": self.latest_checkpoint_size,
            "root_hash": self.root_hash,
            "checks": self.checks,
            "notes": [str(note) for note in self.notes],
            "notes_text": [as_data(note) for note in self.notes],
            "problems": [p.to_json() for p in self.problems],
        }
