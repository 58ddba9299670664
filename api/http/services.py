"""What every request handler works with, built once by ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from api.http.oidc import OidcClient, OidcConfig
from api.http.ratelimit import RateLimits
from cases.export_jobs import ExportRunner
from cases.passwords import LockoutPolicy
from cases.users import TOKEN_DAYS
from cases.viewing import IDLE_TIMEOUT
from cases.web_sessions import SessionPolicy
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
    rate_limits: RateLimits = field(default_factory=RateLimits)
    sign_in: SignInOptions = field(default_factory=SignInOptions)
    time_zone: str = "Asia/Shanghai"  # the pages' zone until a person picks another (IANA name)


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
    oidc: OidcClient | None = None  # made by create_app when single sign-on is set up

    def now(self) -> datetime:
        return self.options.clock()


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]
