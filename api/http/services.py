"""What every request handler works with, built once by ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from api.http.ratelimit import RateLimits
from cases.users import TOKEN_DAYS
from cases.verify_jobs import VerifyJobs
from cases.viewing import IDLE_TIMEOUT
from custody.log import CustodyLog
from custody.note import Verifier
from storage.objects import ObjectStore


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiOptions:
    """Tunables of the HTTP API; defaults suit production."""

    playback_idle: timedelta = IDLE_TIMEOUT
    clock: Callable[[], datetime] = utc_now
    token_days: int = TOKEN_DAYS  # life of a token issued or renewed through the API
    rate_limits: RateLimits = field(default_factory=RateLimits)


@dataclass(frozen=True)
class Services:
    engine: Engine
    store: ObjectStore
    log: CustodyLog
    verifier: Verifier
    origin: str
    cache_dir: Path
    options: ApiOptions
    verify_jobs: VerifyJobs  # verify runs in the background (cases/verify_jobs.py)

    def now(self) -> datetime:
        return self.options.clock()


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]
