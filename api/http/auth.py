"""The bearer-token dependency: every route but the OpenAPI document needs a user.

It also applies the rate limits (``api.http.ratelimit``): an address that failed to
authenticate too often is refused before its token is looked at, and an event-creating
request takes from its user's and address's allowance.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.ratelimit import CHARGE_KEY, Charge, RateLimiter
from api.http.services import ServicesDep
from cases.errors import NotAuthenticated
from cases.users import User, authenticate

bearer = HTTPBearer(auto_error=False, description="A token from `evidence user add` or "
                                                  "POST /api/v1/users.")
_LIMITER_LOCK = threading.Lock()
_SAFE = frozenset({"GET", "HEAD"})
_STREAMS = ("/playback", "/original", "/photo", "/download")  # an event per viewing session


def limiter_of(app: FastAPI, services: ServicesDep) -> RateLimiter:
    """The app's rate limiter, made on first use from its options and clock."""
    with _LIMITER_LOCK:
        limiter: RateLimiter | None = getattr(app.state, "rate_limiter", None)
        if limiter is None:
            clock = services.options.clock
            limiter = RateLimiter(services.options.rate_limits, lambda: clock().timestamp())
            app.state.rate_limiter = limiter
        return limiter


def current_user(request: Request, services: ServicesDep,
                 credentials: Annotated[HTTPAuthorizationCredentials | None,
                                        Depends(bearer)]) -> User:
    limiter = limiter_of(request.app, services)
    address = request.client.host if request.client else "unknown"
    limiter.check_address(address)
    try:
        user = authenticate(services.engine, credentials.credentials if credentials else None,
                            services.now())
    except NotAuthenticated:
        limiter.failed(address)
        raise
    path = request.url.path
    if request.method not in _SAFE or path.endswith("/export"):
        limiter.require_event(user.name, address, take=True)
    elif path.endswith(_STREAMS):
        limiter.require_event(user.name, address, take=False)
        setattr(request.state, CHARGE_KEY, Charge(limiter, user.name, address))
    return user


CurrentUser = Annotated[User, Depends(current_user)]
