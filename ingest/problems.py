"""Which problem code (``domain.station.PROBLEMS``) an error of a dock stands for.

The station screen shows a problem in the reader's language from a stable code and its
parameters; the error's own text (which may quote a driver's message) stays in the dock's
JSON lines and log. The most specific class wins, so subclasses come first.
"""

from __future__ import annotations

from devices.errors import PasswordRefused, RecorderRefused, RecorderUnplugged, VolumeTimeout
from domain.errors import DeviceError, EvidenceError, IntegrityError, StorageError, StorageUnavailable
from domain.station import Problem
from ingest.originals import SourceChanged, SourceReadError


class StationStopping(EvidenceError):
    """The station is stopping: the file in hand was not stored and stays on the recorder."""


class WipeNotLogged(StorageError):
    """A file was deleted from the recorder but its custody event could not be logged."""

    def __init__(self, message: str, *, hint: str | None = None, path: str) -> None:
        super().__init__(message, hint=hint)
        self.path = path


# (error class, code for the whole dock, code for one file), most specific first
_CODES: tuple[tuple[type[BaseException], str, str], ...] = (
    (WipeNotLogged, "wipe_not_logged", "file_store_failed"),
    (StationStopping, "station_stopped", "file_abandoned"),
    (SourceChanged, "failed", "file_changed"),
    (SourceReadError, "recorder_failed", "file_unreadable"),
    (RecorderUnplugged, "recorder_unplugged", "file_unplugged"),
    (PasswordRefused, "recorder_password_refused", "file_unreadable"),
    (RecorderRefused, "recorder_refused", "file_unreadable"),
    (VolumeTimeout, "recorder_volume_timeout", "file_unreadable"),
    (DeviceError, "recorder_failed", "file_unreadable"),
    (IntegrityError, "failed", "file_copy_mismatch"),
    (StorageUnavailable, "store_unreachable", "file_store_failed"),
    (StorageError, "storage_failed", "file_store_failed"),
    (EvidenceError, "failed", "file_failed"),
)


def file_problem_code(exc: BaseException) -> str:
    """The code of one file's failure (its one parameter: ``path``)."""
    for cls, _, code in _CODES:
        if isinstance(exc, cls):
            return code
    return "file_unexpected"


def file_problem(code: str | None, path: str) -> Problem:
    """One file's problem; a result without a code is said in general words."""
    return Problem(code or "file_failed", {"path": path})


def dock_problem(exc: BaseException, *, files: int = 0, attempt: int = 1) -> Problem:
    """What stopped or holds up a whole dock."""
    if isinstance(exc, WipeNotLogged):
        return Problem("wipe_not_logged", {"path": exc.path})
    for cls, code, _ in _CODES:
        if isinstance(exc, cls):
            if code == "store_unreachable":
                return Problem(code, {"files": files, "attempt": attempt})
            return Problem(code)
    return Problem("unexpected", {"kind": type(exc).__name__})
