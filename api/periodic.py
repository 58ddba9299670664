"""A background round repeated beside a server or a dock: the time-stamper and the
witnesser (api/timestamping.py, api/witnessing.py). A round that reports trouble makes
the next wait twice as long, up to a limit; a good round brings it back."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


class Periodic:
    """Runs ``work`` (True: healthy) every ``every`` seconds on a daemon thread until
    ``stop()``, which ends it at its next wait."""

    def __init__(self, name: str, work: Callable[[], bool], every: float, max_wait: float,
                 join_timeout: float) -> None:
        self._work = work
        self._every = every
        self._max_wait = max_wait
        self._join_timeout = join_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self._join_timeout)

    def _run(self) -> None:
        backoff = self._every
        while not self._stop.is_set():
            healthy = self._work()
            self._stop.wait(self._every if healthy else backoff)
            backoff = self._every if healthy else min(backoff * 2, self._max_wait)


@contextlib.contextmanager
def running(periodic: Periodic | None) -> Iterator[None]:
    """Start ``periodic`` (if any) for the block and stop it after."""
    if periodic is None:
        yield
        return
    periodic.start()
    try:
        yield
    finally:
        periodic.stop()
