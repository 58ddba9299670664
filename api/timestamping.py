"""Asking a time-stamping authority (RFC 3161 over HTTP) for tokens on new checkpoints.

A thread beside the server or the dock looks every ``EVIDENCE_TSA_SECONDS`` for a
checkpoint newer than the newest time-stamped one and asks the TSA for a token. It never
holds up an append: a TSA that is missing, slow or refusing is retried with a growing
wait (up to ten minutes), logged each time, and caught up when it answers again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from sqlalchemy import Engine

from api.settings import Settings
from custody.timestamps import Timestamp, TimestampError, accept, record, request_for, untimestamped
from domain.errors import ConfigError
from domain.messages import msg

logger = logging.getLogger("evidence.timestamping")
MAX_WAIT = 600.0
HTTP_TIMEOUT = 15.0


@dataclass(frozen=True)
class TsaSetup:
    url: str
    roots: tuple[x509.Certificate, ...]
    every: float


def load_roots(path: Path) -> tuple[x509.Certificate, ...]:
    try:
        roots = tuple(x509.load_pem_x509_certificates(path.read_bytes()))
    except (OSError, ValueError) as exc:
        raise ConfigError(msg("the TSA roots {path} cannot be read as PEM certificates: {reason}",
                              path=path, reason=exc),
                          hint=msg("give the TSA's CA certificate in PEM")) from None
    return roots


def tsa_setup(settings: Settings) -> TsaSetup | None:
    if not settings.tsa_url:
        return None
    if settings.tsa_roots is None:
        raise ConfigError(msg("EVIDENCE_TSA_URL is set but EVIDENCE_TSA_ROOTS is not"),
                          hint=msg("give the TSA's CA certificate (PEM): a token is only kept if it chains "
                                   "to it"))
    return TsaSetup(settings.tsa_url, load_roots(settings.tsa_roots), settings.tsa_seconds)


def ask(tsa_url: str, query: bytes) -> bytes:
    request = urllib.request.Request(tsa_url, data=query, method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/timestamp-query",
                                              "Accept": "application/timestamp-reply"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as answer:  # noqa: S310
            return bytes(answer.read(1 << 20))
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise TimestampError(msg("the TSA {tsa_url} did not answer: {reason}", tsa_url=tsa_url, reason=exc),
                             hint=msg("it is asked again later; appends go on meanwhile")) from None


def timestamp_newest(engine: Engine, setup: TsaSetup) -> Timestamp | None:
    """One attempt: a token for the newest checkpoint if it has none (None: nothing new)."""
    checkpoint = untimestamped(engine)
    if checkpoint is None:
        return None
    request = request_for(checkpoint.note)
    response = accept(checkpoint, request, ask(setup.url, request.as_bytes()), setup.roots)
    return record(engine, checkpoint, response, setup.url)


class Timestamper:
    """The background thread; ``stop()`` ends it at its next wait."""

    def __init__(self, engine: Engine, setup: TsaSetup) -> None:
        self._engine = engine
        self._setup = setup
        self._stop = threading.Event()
        self.failures = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="timestamper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(HTTP_TIMEOUT + 5)

    def _run(self) -> None:
        wait = self._setup.every
        while not self._stop.is_set():
            try:
                stamped = timestamp_newest(self._engine, self._setup)
            except Exception as exc:  # any failure is retried; the log goes on regardless
                self.failures += 1
                self.last_error = str(exc)
                logger.warning("time-stamping failed (%d in a row), retrying in %.0f s: %s",
                               self.failures, wait, exc)
                self._stop.wait(wait)
                wait = min(wait * 2, MAX_WAIT)
                continue
            if stamped is not None:
                logger.info("checkpoint %d time-stamped by %s at %s", stamped.size,
                            stamped.tsa, stamped.gen_time.isoformat())
            self.failures, self.last_error, wait = 0, None, self._setup.every
            self._stop.wait(self._setup.every)


@contextlib.contextmanager
def timestamping(engine: Engine, settings: Settings) -> Iterator[Timestamper | None]:
    """Run a Timestamper for the block when EVIDENCE_TSA_URL is set."""
    setup = tsa_setup(settings)
    if setup is None:
        yield None
        return
    stamper = Timestamper(engine, setup)
    stamper.start()
    try:
        yield stamper
    finally:
        stamper.stop()
