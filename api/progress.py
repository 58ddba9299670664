"""Rich progress display for `evidence ingest`: per file and overall bytes, rate, ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from api.cli_text import inert, styled
from ingest.pipeline import FileResult
from ingest.pipeline import Progress as IngestProgress

STATUS_STYLE = {"ingested": "green", "duplicate": "cyan", "skipped": "yellow", "failed": "red"}


class RichIngestProgress(IngestProgress):
    def __init__(self, console: Console, total_bytes: int) -> None:
        self.console = console
        self.bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                            DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                            console=console, transient=True)
        self.overall = self.bar.add_task("all files", total=total_bytes or None)
        self.current: TaskID | None = None

    def __enter__(self) -> RichIngestProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def file_started(self, rel: str, size: int) -> None:
        if self.current is not None:
            self.bar.remove_task(self.current)
        self.current = self.bar.add_task(inert(rel)[-40:], total=size or None)

    def advanced(self, nbytes: int) -> None:
        self.bar.advance(self.overall, nbytes)
        if self.current is not None:
            self.bar.advance(self.current, nbytes)

    def file_finished(self, result: FileResult) -> None:
        style = STATUS_STYLE.get(result.status, "white")
        note = f" — {result.reason}" if result.reason else ""  # reasons quote names too
        self.console.print(styled((f"{result.status:>9}", style), " ", f"{result.path}{note}"))
