"""Rate limits: failed authentications per address, event-creating requests per user and address.

In-process token buckets (one server process holds them; a restart forgets them). The public
site (``api.http.public_site``) has its own allowance per address for every request. What
counts as event-creating: every request other than GET/HEAD, an export, and a playback or
download that opens a new viewing session. A Range request that joins its session costs
nothing, so a long recording played in many Range requests never trips a limit.

Once an address has used up its failed authentications, no token it sends is looked at
until the bucket refills (a guess that is never checked is worth nothing). The address is
the TCP peer: behind a proxy it is the proxy's, so size ``failed_auth_per_address`` for it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import EvidenceError
from domain.messages import msg

SESSION_HEADER = b"x-view-session"  # api.http.streaming.SESSION_HEADER, as ASGI spells it


@dataclass(frozen=True)
class Rate:
    burst: int  # taken at once from a full bucket
    per_second: float  # refilled


@dataclass(frozen=True)
class RateLimits:
    failed_auth_per_address: Rate = Rate(30, 0.5)  # 30, then one every 2 s
    events_per_user: Rate = Rate(120, 2.0)  # 120, then two a second
    events_per_address: Rate = Rate(1200, 20.0)  # a station's office behind one address
    tracked_keys: int = 100_000  # buckets kept (the least recently used go first)
    # the public site (no sign-in): every request costs one, per address
    public_per_address: Rate = Rate(600, 10.0)

    @classmethod
    def generous(cls) -> RateLimits:
        """For tests that make thousands of requests from one address on purpose."""
        wide = Rate(1_000_000, 1_000_000.0)
        return cls(wide, wide, wide, public_per_address=wide)


class RateLimited(EvidenceError):
    """Too many requests: HTTP 429 with Retry-After."""

    def __init__(self, message: str, *, retry_after: int, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


@dataclass
class _Buckets:
    rate: Rate
    size: int
    levels: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def level(self, key: str, now: float) -> float:
        tokens, then = self.levels.get(key, (float(self.rate.burst), now))
        return min(float(self.rate.burst), tokens + max(0.0, now - then) * self.rate.per_second)

    def set(self, key: str, tokens: float, now: float) -> None:
        self.levels[key] = (tokens, now)
        self.levels.move_to_end(key)
        while len(self.levels) > self.size:
            self.levels.popitem(last=False)

    def wait(self, key: str, now: float) -> int:
        """Seconds until ``key`` has a whole token again (0: it has one)."""
        missing = 1.0 - self.level(key, now)
        return 0 if missing <= 0 else max(1, math.ceil(missing / self.rate.per_second))


class RateLimiter:
    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = _Buckets(limits.failed_auth_per_address, limits.tracked_keys)
        self._user_events = _Buckets(limits.events_per_user, limits.tracked_keys)
        self._address_events = _Buckets(limits.events_per_address, limits.tracked_keys)
        self._public = _Buckets(limits.public_per_address, limits.tracked_keys)
        self._sessions: OrderedDict[tuple[str, str], None] = OrderedDict()

    def check_address(self, address: str) -> None:
        """Refuse an address that has used up its failed authentications."""
        with self._lock:
            wait = self._failures.wait(address, self._clock())
        if wait:
            raise RateLimited(msg("too many failed authentications from {address}", address=address),
                              retry_after=wait,
                              hint=msg("retry after {wait} s with a valid bearer token", wait=wait))

    def failed(self, address: str) -> None:
        with self._lock:
            now = self._clock()
            self._failures.set(address, self._failures.level(address, now) - 1, now)

    def require_event(self, user: str, address: str, *, take: bool) -> None:
        """Refuse when the user or the address has no event left; ``take`` one from both."""
        with self._lock:
            now = self._clock()
            for buckets, key, who in ((self._user_events, user, f"user {user}"),
                                      (self._address_events, address, f"address {address}")):
                wait = buckets.wait(key, now)
                if wait:
                    raise RateLimited(msg("too many requests that add to the custody log from {who}",
                                          who=who),
                                      retry_after=wait,
                                      hint=msg("retry after {wait} s; the limits are in the README (Rate "
                                               "limits)", wait=wait))
            if take:
                self._take(user, address, now)

    def public_request(self, address: str) -> None:
        """A request to the public site takes one from its address's allowance, or is refused."""
        with self._lock:
            now = self._clock()
            wait = self._public.wait(address, now)
            if wait:
                raise RateLimited(msg("too many requests to the public site from {address}",
                                      address=address),
                                  retry_after=wait, hint=msg("retry after {wait} s", wait=wait))
            self._public.set(address, self._public.level(address, now) - 1, now)

    def session_served(self, user: str, address: str, session_id: str) -> None:
        """A playback or download was served in ``session_id``: a new session took an event."""
        key = (user, session_id)
        with self._lock:
            if key in self._sessions:
                self._sessions.move_to_end(key)
                return
            self._sessions[key] = None
            while len(self._sessions) > self.limits.tracked_keys:
                self._sessions.popitem(last=False)
            self._take(user, address, self._clock())

    def _take(self, user: str, address: str, now: float) -> None:
        for buckets, key in ((self._user_events, user), (self._address_events, address)):
            buckets.set(key, buckets.level(key, now) - 1, now)


@dataclass(frozen=True)
class Charge:
    """Left on the request by the auth dependency for a playback or download."""

    limiter: RateLimiter
    user: str
    address: str


CHARGE_KEY = "evidence.view_charge"  # in the ASGI scope's state


class ViewSessionCharges:
    """ASGI middleware: charge a new viewing session once its response starts.

    Register in ``create_app``: ``app.add_middleware(ViewSessionCharges)``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def charging_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 300:
                charge = scope.get("state", {}).get(CHARGE_KEY)
                session = dict(message.get("headers", [])).get(SESSION_HEADER)
                if isinstance(charge, Charge) and session:
                    charge.limiter.session_served(charge.user, charge.address,
                                                  session.decode("latin-1"))
            await send(message)

        await self.app(scope, receive, charging_send)
