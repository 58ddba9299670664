"""Browser sessions: a signed-in browser holds a random id in a cookie; the server keeps
its SHA-256 (``user_sessions``), so a copy of the database opens no session.

A session ends when its user signs out, after ``SessionPolicy.idle`` without a request,
at ``SessionPolicy.absolute`` after it began whatever the use, when an admin sets the
user a new password, and (checked at every request) when the user is revoked. Its
CSRF token is derived from the id (an HMAC keyed with it), so it is stored nowhere
and tells nothing about the id. Signing in and out are custody events
(``user:session:started``, ``user:session:ended``); an idle or absolute end is not
(nothing happens then to record), and neither is each request.

Single sign-on requests (OpenID Connect) wait here between the redirect to the
provider and its answer: ``oidc_requests``, keyed by the state's SHA-256, used once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from cases import tables
from cases.errors import NotAuthenticated
from cases.times import aware
from cases.users import User, user_from_row, user_query
from custody.events import JSON, EventDraft, format_time
from custody.log import CustodyLog
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction

METHODS = ("password", "oidc")
_MAX_ID = 128  # a cookie longer than any id we issue is not looked up


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)  # EVIDENCE_SESSION_IDLE_MINUTES
    absolute: timedelta = timedelta(hours=12)  # EVIDENCE_SESSION_HOURS
    touch_every: timedelta = timedelta(minutes=1)  # last use is written at most this often
    # (and at most a tenth of ``idle``, so a session in use never looks idle)


class SessionEnded(NotAuthenticated):
    """No session for this cookie (unknown, signed out, idle, past its end, user revoked)."""

    def __init__(self) -> None:
        super().__init__(msg("you are not signed in, or your session has ended"),
                         hint=msg("sign in again"))


@dataclass(frozen=True)
class WebSession:
    digest: str  # SHA-256 of the id: what the table knows
    user_name: str
    method: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime

    @property
    def reference(self) -> str:
        """How custody events name the session (a prefix of the stored digest)."""
        return self.digest[:16]


@dataclass(frozen=True)
class OpenedSession:
    session_id: str  # for the cookie; never stored
    csrf_token: str
    session: WebSession


def session_digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token_for(session_id: str) -> str:
    mac = hmac.new(session_id.encode("utf-8"), b"evidence csrf token", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def csrf_matches(session_id: str, given: str | None) -> bool:
    """Constant-time comparison of a request's X-CSRF-Token with the session's."""
    if not given:
        return False
    return hmac.compare_digest(csrf_token_for(session_id).encode("ascii"),
                               given.encode("utf-8", "surrogateescape"))


def open_session(log: CustodyLog, user: User, *, method: str, policy: SessionPolicy,
                 now: datetime, address: str,
                 details: Mapping[str, JSON] | None = None) -> OpenedSession:
    """A new session for ``user`` (event ``user:session:started``)."""
    if method not in METHODS:
        raise ValueError(f"unknown sign-in method {method!r}")
    if user.operator or not user.active:
        raise SessionEnded()
    session_id = secrets.token_urlsafe(32)
    session = WebSession(session_digest(session_id), user.name, method, now, now,
                         now + policy.absolute)
    with write_transaction(log.engine) as conn:
        conn.execute(insert(tables.user_sessions).values(
            id_sha256=session.digest, user_name=user.name, method=method, created_at=now,
            last_seen_at=now, expires_at=session.expires_at))
        log.append([EventDraft(EventType.USER_SIGNED_IN, user.actor, None, {
            "user": user.name, "method": method, "session": session.reference,
            "address": address, "expires_at": format_time(session.expires_at),
            **(details or {})}, now)], conn)
    return OpenedSession(session_id, csrf_token_for(session_id), session)


def session_user(engine: Engine, session_id: str | None, *, policy: SessionPolicy,
                 now: datetime) -> tuple[User, WebSession]:
    """The active user of a live session; ``SessionEnded`` otherwise. Notes the use (at most
    once per ``policy.touch_every``), which keeps an idle session alive.

    Every request of a browser asks this, so it is one statement, built once: the session
    joined to its user (revocation and the end of the session count at once, nothing is
    cached)."""
    if not session_id or len(session_id) > _MAX_ID:
        raise SessionEnded()
    digest = session_digest(session_id)
    with engine.connect() as conn:
        row = conn.execute(_session_user_query(), {"digest": digest}).first()
    if row is None or row.session_ended_at is not None:
        raise SessionEnded()
    session = WebSession(digest, row.name, row.session_method, aware(row.session_created_at),
                         aware(row.session_last_seen_at), aware(row.session_expires_at))
    if now >= session.expires_at or now >= session.last_seen_at + policy.idle:
        raise SessionEnded()
    if row.revoked_at is not None:
        raise SessionEnded()
    if now - session.last_seen_at >= min(policy.touch_every, policy.idle / 10):
        sessions = tables.user_sessions
        with write_transaction(engine) as conn:
            conn.execute(update(sessions).where(sessions.c.id_sha256 == digest,
                                                sessions.c.ended_at.is_(None))
                         .values(last_seen_at=now))
    return user_from_row(row), session


@cache
def _session_user_query() -> Any:
    """A session (by the SHA-256 of its id) with its user's row (``user_from_row``)."""
    s = tables.user_sessions
    return (user_query()
            .add_columns(s.c.method.label("session_method"),
                         s.c.created_at.label("session_created_at"),
                         s.c.last_seen_at.label("session_last_seen_at"),
                         s.c.expires_at.label("session_expires_at"),
                         s.c.ended_at.label("session_ended_at"))
            .join(s, s.c.user_name == tables.users.c.name)
            .where(s.c.id_sha256 == bindparam("digest")))


def end_session(log: CustodyLog, session: WebSession, *, by: User, reason: str,
                now: datetime) -> bool:
    """End ``session`` (event ``user:session:ended``); False if it had already ended."""
    sessions = tables.user_sessions
    with write_transaction(log.engine) as conn:
        ended = conn.execute(update(sessions).where(sessions.c.id_sha256 == session.digest,
                                                    sessions.c.ended_at.is_(None))
                             .values(ended_at=now)).rowcount
        if ended:
            log.append([EventDraft(EventType.USER_SIGNED_OUT, by.actor, None, {
                "user": session.user_name, "session": session.reference, "reason": reason},
                now)], conn)
    return bool(ended)


def end_sessions_of(conn: Connection, user_name: str, now: datetime, *,
                    keep: str | None = None) -> int:
    """End every live session of ``user_name`` but ``keep`` (a digest), inside the caller's
    transaction (whose custody event says so); returns how many ended."""
    sessions = tables.user_sessions
    query = update(sessions).where(sessions.c.user_name == user_name, sessions.c.ended_at.is_(None))
    if keep is not None:
        query = query.where(sessions.c.id_sha256 != keep)
    return int(conn.execute(query.values(ended_at=now)).rowcount)


# --- single sign-on requests -----------------------------------------------------------

@dataclass(frozen=True)
class OidcRequest:
    nonce: str
    code_verifier: str
    next_path: str


def save_oidc_request(engine: Engine, state: str, request: OidcRequest, *, now: datetime,
                      ttl: timedelta) -> None:
    """Keep a request until its answer; requests older than ``ttl`` are dropped here."""
    table = tables.oidc_requests
    with write_transaction(engine) as conn:
        conn.execute(delete(table).where(table.c.created_at < now - ttl))
        conn.execute(insert(table).values(
            state_sha256=session_digest(state), nonce=request.nonce,
            code_verifier=request.code_verifier, next_path=request.next_path, created_at=now))


def take_oidc_request(engine: Engine, state: str, *, now: datetime,
                      ttl: timedelta) -> OidcRequest | None:
    """The request ``state`` names, removed so that it is used once; None if there is none
    (never made, already used, or older than ``ttl``)."""
    table = tables.oidc_requests
    digest = session_digest(state)
    with write_transaction(engine) as conn:
        row = conn.execute(select(table).where(table.c.state_sha256 == digest)).first()
        if row is None:
            return None
        taken = conn.execute(delete(table).where(table.c.state_sha256 == digest)).rowcount
    if not taken or now - aware(row.created_at) >= ttl:
        return None
    return OidcRequest(row.nonce, row.code_verifier, row.next_path)
