"""Locate and run the ffmpeg command-line tool.

The system ``ffmpeg`` (Debian's package, installed by CI) is preferred because
it is the one operators can inspect and update; the binary shipped inside the
``imageio-ffmpeg`` wheel is the fallback so a bare virtualenv still works.
Every failure becomes :class:`domain.errors.MediaError` carrying the tail of
ffmpeg's own error output, which is what an operator needs to act on it.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence

import imageio_ffmpeg

from domain.errors import MediaError

# ffmpeg reports the actual cause in its last lines; earlier lines are context.
STDERR_TAIL_LINES = 12

# Options placed before every invocation: never read the terminal (a service has
# none), no banner noise, only real errors on stderr, overwrite our own temp files.
_QUIET_GLOBAL_ARGS = ("-nostdin", "-hide_banner", "-loglevel", "error", "-y")


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
            f"No ffmpeg program was found ({err}).",
            hint="Install it with 'apt-get install ffmpeg' or reinstall imageio-ffmpeg.",
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
    Raises MediaError when ffmpeg cannot start, times out or exits non-zero.
    """
    command = [ffmpeg_executable(), *_QUIET_GLOBAL_ARGS, *args]
    try:
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise MediaError(
            f"ffmpeg did not finish the {what} within {timeout_seconds} s and was stopped; "
            f"last output: {stderr_tail(err.stderr)}",
            hint="Check that the file is not still being written, or allow a longer timeout.",
        ) from err
    except OSError as err:
        raise MediaError(
            f"ffmpeg could not be started for the {what}: {err}.",
            hint="Check that ffmpeg is installed ('apt-get install ffmpeg') and executable.",
        ) from err
    if completed.returncode != 0:
        raise MediaError(
            f"ffmpeg failed the {what} (exit code {completed.returncode}): {stderr_tail(completed.stderr)}",
            hint="The original is unchanged; inspect it with ffprobe, or re-copy it "
            "from the recorder if it is damaged.",
        )
