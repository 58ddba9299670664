"""Asking a time-stamping authority (RFC 3161 over HTTP) for tokens on new checkpoints.

A thread beside the server or the dock looks every ``EVIDENCE_TSA_SECONDS`` for a
checkpoint newer than the newest time-stamped one and asks the TSA for a token. It never
holds up an append: a TSA that is missing, slow or refusing is retried with a growing
wait (up to ten minutes), logged each time, and caught up when it answers again.
"""

from __future__ import annotations

import contextlib
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from sqlalchemy import Engine

from api.periodic import Periodic, running
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


class Timestamper(Periodic):
    """The background thread: one attempt per round; a failure is counted and logged."""

    def __init__(self, engine: Engine, setup: TsaSetup) -> None:
        super().__init__("timestamper", self.run_once, setup.every, MAX_WAIT, HTTP_TIMEOUT + 5)
        self._engine = engine
        self._setup = setup
        self.failures = 0
        self.last_error: str | None = None

    def run_once(self) -> bool:
        try:
            stamped = timestamp_newest(self._engine, self._setup)
        except Exception as exc:  # any failure is retried; the log goes on regardless
            self.failures += 1
            self.last_error = str(exc)
            logger.warning("time-stamping failed (%d in a row), asked again later: %s",
                           self.failures, exc)
            return False
        if stamped is not None:
            logger.info("checkpoint %d time-stamped by %s at %s", stamped.size,
                        stamped.tsa, stamped.gen_time.isoformat())
        self.failures, self.last_error = 0, None
        return True


@contextlib.contextmanager
def timestamping(engine: Engine, settings: Settings) -> Iterator[Timestamper | None]:
    """Run a Timestamper for the block when EVIDENCE_TSA_URL is set."""
    setup = tsa_setup(settings)
    stamper = Timestamper(engine, setup) if setup else None
    with running(stamper):
        yield stamper
