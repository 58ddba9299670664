"""Locate and run the ffmpeg command-line tool.

The system ``ffmpeg`` (Debian's package, installed by CI) is preferred because
it is the one operators can inspect and update; the binary shipped inside the
``imageio-ffmpeg`` wheel is the fallback so a bare virtualenv still works.
Every failure becomes :class:`domain.errors.MediaError` carrying the tail of
ffmpeg's own error output, which is what an operator needs to act on it.

ffmpeg runs in a session of its own, so a Ctrl-C in the terminal reaches only the
program that started it (the station then stops it cleanly). A run started under
a :class:`Cancellation` (``with cancellation.applies():`` in the thread that runs
it) is abandoned when that cancellation is cancelled: ffmpeg is sent SIGTERM, then
SIGKILL after a short grace, and the run raises :class:`FfmpegCancelled`, which is
not a ``MediaError``: the job was abandoned, the media is not at fault.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import imageio_ffmpeg

from domain.errors import EvidenceError, MediaError
from domain.messages import msg, plain

# ffmpeg reports the actual cause in its last lines; earlier lines are context.
STDERR_TAIL_LINES = 12

# Options placed before every invocation: never read the terminal (a service has
# none), no banner noise, only real errors on stderr, overwrite our own temp files.
_QUIET_GLOBAL_ARGS = ("-nostdin", "-hide_banner", "-loglevel", "error", "-y")


# Seconds a cancelled ffmpeg has to exit after SIGTERM before it is killed.
STOP_GRACE_SECONDS = 3.0


class FfmpegCancelled(EvidenceError):
    """An ffmpeg run was abandoned because its cancellation was cancelled (e.g. a stop)."""


class Cancellation:
    """Abandons every ffmpeg run started under it: SIGTERM, then SIGKILL after ``grace_seconds``.

    Thread-safe; ``cancel`` may be called from any thread, more than once, and never blocks.
    """

    def __init__(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        self.grace_seconds = grace_seconds
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            running = list(self._running)
        for process in running:
            self._stop(process)

    @contextmanager
    def applies(self) -> Iterator[None]:
        """ffmpeg runs started by this thread inside the block are abandoned on ``cancel``."""
        token = _CANCELLATION.set(self)
        try:
            yield
        finally:
            _CANCELLATION.reset(token)

    def _started(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.add(process)
            cancelled = self._cancelled
        if cancelled:  # cancelled between the check before the start and now
            self._stop(process)

    def _ended(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.discard(process)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        process.terminate()  # a no-op once the process has been waited for
        killer = threading.Timer(self.grace_seconds, _kill_if_running, (process,))
        killer.daemon = True
        killer.start()


def _kill_if_running(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()


_CANCELLATION: ContextVar[Cancellation | None] = ContextVar("ffmpeg_cancellation", default=None)


def _cancelled(what: str) -> FfmpegCancelled:
    return FfmpegCancelled(msg("the {what} was abandoned: its run was stopped", what=what),
                           hint=msg("the original is safe; the next run makes what is missing"))


@functools.cache
def ffmpeg_executable() -> str:
    """Path of the ffmpeg binary: ``ffmpeg`` on PATH, else imageio-ffmpeg's copy."""
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as err:
        raise MediaError(
            msg("No ffmpeg program was found ({reason}).", reason=err),
            hint=msg("Install it with 'apt-get install ffmpeg' or reinstall imageio-ffmpeg."),
        ) from err


def stderr_tail(stderr: bytes | str | None, lines: int = STDERR_TAIL_LINES) -> str:
    """The last ``lines`` non-empty lines of ffmpeg's stderr, as one string."""
    if not stderr:
        return "(ffmpeg printed nothing)"
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) or "(ffmpeg printed nothing)"


def run_ffmpeg(args: Sequence[str], *, what: str, timeout_seconds: int | None = None) -> None:
    """Run ffmpeg with ``args`` (everything after the program name).

    ``what`` names the job for the error message, e.g. "remux of VID_0001.MP4".
    Raises MediaError when ffmpeg cannot start, times out or exits non-zero, and
    FfmpegCancelled when the thread's cancellation (see ``Cancellation.applies``) stops it.
    """
    command = [ffmpeg_executable(), *_QUIET_GLOBAL_ARGS, *args]
    cancellation = _CANCELLATION.get()
    if cancellation is not None and cancellation.cancelled:
        raise _cancelled(what)
    try:
        # its own session: a terminal's Ctrl-C reaches only the program that started it
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
    except OSError as err:
        raise MediaError(
            msg("ffmpeg could not be started for the {what}: {reason}.", what=what, reason=err),
            hint=msg("Check that ffmpeg is installed ('apt-get install ffmpeg') and executable."),
        ) from err
    if cancellation is not None:
        cancellation._started(process)
    try:
        with process:
            try:
                _, stderr = process.communicate(timeout=timeout_seconds)
            except subprocess.TimeoutExpired as err:
                process.kill()
                process.communicate()
                raise MediaError(
                    msg("ffmpeg did not finish the {what} within {timeout_seconds} s and was stopped. "
                        "Its last output: {stderr_tail}", what=what, timeout_seconds=timeout_seconds,
                        stderr_tail=plain(stderr_tail(err.stderr))),
                    hint=msg("Check that the file is not still being written, or allow a longer timeout."),
                ) from err
            except BaseException:
                process.kill()  # never leave an ffmpeg running behind an error
                raise
    finally:
        if cancellation is not None:
            cancellation._ended(process)
    if cancellation is not None and cancellation.cancelled:
        raise _cancelled(what)
    if process.returncode != 0:
        raise MediaError(
            msg("ffmpeg failed the {what} (exit code {returncode}). Its last output: {stderr_tail}",
                what=what, returncode=process.returncode, stderr_tail=plain(stderr_tail(stderr))),
            hint=msg("The original is unchanged; inspect it with ffprobe, or re-copy it from the recorder "
                     "if it is damaged."),
        )
