"""Users, roles and bearer tokens.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), shown once and
stored only as its SHA-256: a fast hash is enough for a secret that cannot be
guessed, and it lets a lookup use an index. Revoking a user ends their token;
names are never reused, so ``user:<name>`` in the custody log always means the
same person.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update

from cases import tables
from cases.errors import InvalidRequest, NotAuthenticated
from cases.times import aware
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import AlreadyExists, NotFound
from domain.event_types import EventType
from storage.db import write_transaction

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
OFFICER_NO_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)
_OFFICER_NO_RE = re.compile(OFFICER_NO_PATTERN)


class Role(StrEnum):
    OFFICER = "officer"
    CASE_OFFICER = "case_officer"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    officer_no: str | None
    created_at: datetime
    revoked_at: datetime | None = None
    # The server's own command line, run by someone with a shell on the server
    # (who can read the database and the key anyway): an admin over everything.
    operator: bool = False

    @property
    def actor(self) -> str:
        """How this user is named in custody events."""
        return f"cli:{self.name}" if self.operator else f"user:{self.name}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def operator(login: str, now: datetime | None = None) -> User:
    """The principal of the `evidence` command line: the same checks and events as a user's
    request, acting as admin, named ``cli:<login>`` in the custody log."""
    return User(login, Role.ADMIN, None, now or datetime.now(UTC), operator=True)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidRequest(f"unknown role {value!r}",
                             hint="use one of: " + ", ".join(r.value for r in Role)) from None


def _check_new_user(name: str, role: Role, officer_no: str | None) -> None:
    if not _NAME_RE.fullmatch(name):
        raise InvalidRequest(f"user name {name!r} is not allowed",
                             hint="use 1-64 letters, digits, '.', '_', '@' or '-', "
                                  "starting with a letter or digit")
    if officer_no is not None and not _OFFICER_NO_RE.fullmatch(officer_no):
        raise InvalidRequest(f"officer number {officer_no!r} is not allowed",
                             hint="use 1-64 letters, digits, '.', '_' or '-'")
    if role is Role.OFFICER and officer_no is None:
        raise InvalidRequest("an officer needs an officer number",
                             hint="pass the officer number their recorder writes (e.g. 100234)")


def add_user(log: CustodyLog, name: str, role: Role, officer_no: str | None, *, actor: str,
             now: datetime | None = None) -> tuple[User, str]:
    """Create a user and their token; returns (user, token). The token is shown only here."""
    _check_new_user(name, role, officer_no)
    moment = now or datetime.now(UTC)
    token = new_token()
    with write_transaction(log.engine) as conn:
        exists = conn.execute(select(tables.users.c.name, tables.users.c.revoked_at)
                              .where(tables.users.c.name == name)).first()
        if exists is not None:
            state = "a revoked user" if exists.revoked_at is not None else "a user"
            raise AlreadyExists(f"{state} named {name!r} already exists",
                                hint="names are never reused; choose another name")
        conn.execute(insert(tables.users).values(
            name=name, role=role.value, officer_no=officer_no, token_sha256=token_digest(token),
            created_at=moment, created_by=actor))
        log.append([EventDraft(EventType.USER_CREATED, actor, None, {
            "user": name, "role": role.value, "officer_no": officer_no}, moment)], conn)
    return User(name, role, officer_no, moment), token


def revoke_user(log: CustodyLog, name: str, *, actor: str, now: datetime | None = None) -> User:
    """End a user's token for good."""
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        row = conn.execute(select(tables.users).where(tables.users.c.name == name)
                           .with_for_update()).first()
        if row is None or row.revoked_at is not None:
            raise NotFound(f"there is no active user named {name!r}",
                           hint="list users with `evidence user list`")
        conn.execute(update(tables.users).where(tables.users.c.name == name)
                     .values(revoked_at=moment, revoked_by=actor))
        log.append([EventDraft(EventType.USER_REVOKED, actor, None, {"user": name}, moment)], conn)
    return User(name, Role(row.role), row.officer_no, aware(row.created_at), moment)


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        rows = conn.execute(select(tables.users).order_by(tables.users.c.name)).all()
    return [_user(row) for row in rows]


def get_user(engine: Engine, name: str) -> User:
    with engine.connect() as conn:
        row = conn.execute(select(tables.users).where(tables.users.c.name == name)).first()
    if row is None:
        raise NotFound(f"there is no user named {name!r}")
    return _user(row)


def authenticate(engine: Engine, token: str | None) -> User:
    """The active user holding ``token``; NotAuthenticated otherwise."""
    if not token:
        raise NotAuthenticated("this request needs a bearer token",
                               hint="send 'Authorization: Bearer <token>'; an admin issues "
                                    "tokens with `evidence user add`")
    with engine.connect() as conn:
        row = conn.execute(select(tables.users).where(
            tables.users.c.token_sha256 == token_digest(token))).first()
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("the bearer token is unknown or revoked",
                               hint="ask an admin for a new token")
    return _user(row)


def _user(row: Row[Any]) -> User:
    return User(row.name, Role(row.role), row.officer_no, aware(row.created_at),
                aware(row.revoked_at) if row.revoked_at is not None else None)
