"""How a long check reports its progress, and how it is stopped between steps.

A verify names each phase as it starts (``entries``, ``nodes``, ``head``,
``checkpoints``, ``documents``; the callers add ``catalog`` and ``objects``) and
reports how many items of the phase it has checked. Either call may raise
``VerifyCancelled`` to stop the run there: the check only reads, so stopping it
anywhere leaves nothing half done.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from custody.verify_reader import BulkReader, NodeRow
from custody.verify_scan import EntryRow
from domain.errors import EvidenceError

REPORT_EVERY = 4096  # rows between two progress reports while entries are read


class VerifyCancelled(EvidenceError):
    """A verify was stopped before it finished (its server is shutting down)."""


class Progress(Protocol):
    def phase(self, name: str, total: int | None = None) -> None:
        """A new phase begins, of ``total`` items if known."""

    def checked(self, count: int) -> None:
        """``count`` items of the current phase are checked."""


class CountingReader:
    """A ``BulkReader`` that reports the entries read, by their position in the log."""

    def __init__(self, inner: BulkReader, progress: Progress) -> None:
        self._inner = inner
        self._progress = progress

    def entries(self, offset: int, limit: int | None) -> Iterable[EntryRow]:
        return self._counted(self._inner.entries(offset, limit), offset)

    def entries_from(self, seq: int, limit: int) -> Iterable[EntryRow]:
        return self._counted(self._inner.entries_from(seq, limit), seq)

    def matching_nodes(self, level: int, first: int, expected: bytes) -> int:
        return self._inner.matching_nodes(level, first, expected)

    def all_nodes(self) -> Iterable[NodeRow]:
        return self._inner.all_nodes()

    def _counted(self, rows: Iterable[EntryRow], start: int) -> Iterator[EntryRow]:
        report = self._progress.checked
        count = 0
        for row in rows:
            yield row
            count += 1
            if count % REPORT_EVERY == 0:
                report(start + count)
        report(start + count)
