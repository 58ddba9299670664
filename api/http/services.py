"""What every request handler works with, built once by ``create_app``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

from cryptography import x509
from fastapi import Depends, Request
from sqlalchemy import Engine

from api.http.oidc import OidcClient, OidcConfig
from api.http.ratelimit import RateLimits
from cases.export_jobs import ExportRunner
from cases.legal_review import REVIEW_WORKING_DAYS
from cases.passwords import LockoutPolicy
from cases.redactions import RedactionTools
from cases.users import TOKEN_DAYS
from cases.verify_jobs import VerifyJobs
from cases.viewing import IDLE_TIMEOUT
from cases.web_sessions import SessionPolicy
from custody.cosigned import WitnessQuorum
from custody.log import CustodyLog
from custody.note import Verifier
from storage.objects import ObjectStore


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SignInOptions:
    """Sign-in: lockout, browser sessions, the cookie's Secure flag, single sign-on."""

    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    cookie_secure: bool = False  # Secure even on plain HTTP requests (behind a TLS proxy)
    oidc: OidcConfig | None = None


@dataclass(frozen=True)
class ApiOptions:
    """Tunables of the HTTP API; defaults suit production."""

    playback_idle: timedelta = IDLE_TIMEOUT
    clock: Callable[[], datetime] = utc_now
    token_days: int = TOKEN_DAYS  # life of a token issued or renewed through the API
    review_days: int = REVIEW_WORKING_DAYS  # a legal reviewer's time limit, working days
    # a witnessed log: the witnesses whose quorum must cosign a cited item's event before a
    # legal-review submission counts it (None: not witnessed, a signed checkpoint suffices)
    review_witnesses: WitnessQuorum | None = None
    rate_limits: RateLimits = field(default_factory=RateLimits)
    sign_in: SignInOptions = field(default_factory=SignInOptions)
    time_zone: str = "Asia/Shanghai"  # the pages' zone until a person picks another (IANA name)
    tsa_roots: tuple[x509.Certificate, ...] | None = None  # verify checks time-stamps against them
    redaction: RedactionTools | None = None  # face model and C2PA credentials (None: no copies)
    # the station screen's event stream (GET /stations/events): how often it looks for
    # changes, how long it stays quiet before a keep-alive comment, how often it checks the
    # user's token again, and how long one stream lasts before the server ends it (the
    # browser reconnects with Last-Event-ID; this also bounds a shutdown by a server that
    # does not tell the streams, such as plain uvicorn)
    station_poll_seconds: float = 0.5
    station_heartbeat_seconds: float = 15.0
    station_reauth_seconds: float = 60.0
    station_stream_seconds: float = 300.0


@dataclass(frozen=True)
class Services:
    engine: Engine
    store: ObjectStore
    log: CustodyLog
    verifier: Verifier
    origin: str
    cache_dir: Path
    options: ApiOptions
    export_dir: Path  # case bundles built on the server (cases.export_jobs)
    exports: ExportRunner  # runs them on background threads
    verify_jobs: VerifyJobs  # verify runs in the background (cases/verify_jobs.py)
    oidc: OidcClient | None = None  # made by create_app when single sign-on is set up
    # set when the server shuts down: long-lived responses (the station screen's event
    # stream) end, so the server does not wait for them (api.http.server)
    stopping: threading.Event = field(default_factory=threading.Event)

    def now(self) -> datetime:
        return self.options.clock()


async def _services(request: Request) -> Services:
    # async: a plain attribute read, not worth a hop to the thread pool (as a def would be)
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]
