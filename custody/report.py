"""The verify report: every problem with its entry index, kind and a sentence.

The CLI and the API only render it; exit code 0 when intact, 1 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    index: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "kind": self.kind, "message": self.message}


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
            "notes": self.notes,
            "problems": [p.to_json() for p in self.problems],
        }
