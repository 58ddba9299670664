"""Passwords: argon2id hashes, setting and changing them, and the lockout.

Only the argon2id hash is stored (``users.password_hash``), with OWASP's parameters
(19 MiB of memory, 2 passes, 1 lane: about 70 ms on a 2-core station). A hash names
its own parameters, so raising them later re-hashes a password at its next sign-in.

A sign-in never tells names apart: an unknown name, a revoked or locked account, an
account without a password and a wrong password all raise the same ``SignInRefused``
after the same argon2 work (a name without a hash is checked against a dummy one).
``LockoutPolicy.max_failures`` wrong passwords in a row lock the account for
``LockoutPolicy.lock`` (event ``user:account:locked``); the count starts again at a
successful sign-in, at a lock, and when an admin sets a password or unlocks it.
Failed attempts themselves are not custody events (anyone could flood the log with
them); the HTTP layer rate-limits them per address.

Who may set a password: the server's operator (``evidence user password``), an admin
of the user's agency (a new password for someone else: ``user:password:set``, which
also lifts a lockout and ends the account's browser sessions), or the user themselves
with their current password (``user:password:changed``, ending their other sessions).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from cases import tables
from cases.errors import AccessDenied, Conflict, InvalidRequest, NotAuthenticated
from cases.times import aware
from cases.users import Role, User, managed_user, role_words, user_from_row, user_query
from cases.web_sessions import end_sessions_of
from custody.events import EventDraft, format_time
from custody.log import CustodyLog
from domain.errors import NotFound
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)
MIN_LENGTH = 10
MAX_LENGTH = 256
SIGN_IN_ACTOR = "service:sign-in"  # who locks an account: the sign-in service, not a person


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5  # EVIDENCE_SIGNIN_MAX_FAILURES
    lock: timedelta = timedelta(minutes=15)  # EVIDENCE_SIGNIN_LOCK_MINUTES


class SignInRefused(NotAuthenticated):
    """The one answer to every failed password sign-in, whatever the reason."""

    def __init__(self) -> None:
        super().__init__(msg("the name or password is wrong, or this account cannot sign in now"),
                         hint=msg("check both and try again; after several failures in a row an account is "
                                  "locked for a while, and an admin of your agency can unlock it or set a "
                                  "new password"))


def check_new_password(name: str, password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidRequest(msg("a password needs at least {min_length} characters", min_length=MIN_LENGTH),
                             hint=msg("a few unrelated words make a long password that is easy to remember"))
    if len(password) > MAX_LENGTH:
        raise InvalidRequest(msg("a password may have at most {max_length} characters",
                                 max_length=MAX_LENGTH),
                             hint=msg("choose a shorter password"))
    if name.casefold() in password.casefold():
        raise InvalidRequest(msg("a password must not contain the user name"),
                             hint=msg("choose a password that has nothing to do with the name"))


@cache
def _dummy_hash() -> str:
    return HASHER.hash("not a password: names without one are checked against this")


def _matches(stored: str | None, password: str) -> bool:
    """Argon2 work whether or not there is a hash, so timing tells no names apart."""
    try:
        HASHER.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


def password_sign_in(log: CustodyLog, name: str, password: str, *, policy: LockoutPolicy,
                     now: datetime, address: str) -> User:
    """The active, unlocked user ``name`` whose password this is; ``SignInRefused`` otherwise.

    A wrong password counts towards the lockout; the failure that reaches
    ``policy.max_failures`` locks the account (event ``user:account:locked``).
    """
    with log.engine.connect() as conn:
        row = conn.execute(user_query().where(tables.users.c.name == name)).first()
    stored = row.password_hash if row is not None else None
    right = _matches(stored, password)
    if row is None or row.revoked_at is not None:
        raise SignInRefused()
    if row.locked_until is not None and aware(row.locked_until) > now:
        raise SignInRefused()  # not counted: a lock is not lengthened by more guesses
    if not right:
        if stored is not None:
            _count_failure(log, name, policy, now, address)
        raise SignInRefused()
    rehash = HASHER.hash(password) if HASHER.check_needs_rehash(stored or "") else None
    users = tables.users
    with write_transaction(log.engine) as conn:
        values: dict[str, Any] = {"failed_sign_ins": 0, "locked_until": None}
        if rehash is not None:
            values["password_hash"] = rehash
        conn.execute(update(users).where(users.c.name == name, users.c.password_hash == stored)
                     .values(**values))
    return replace(user_from_row(row), locked_until=None)


def _count_failure(log: CustodyLog, name: str, policy: LockoutPolicy, now: datetime,
                   address: str) -> None:
    users = tables.users
    with write_transaction(log.engine) as conn:
        conn.execute(update(users).where(users.c.name == name)
                     .values(failed_sign_ins=users.c.failed_sign_ins + 1))
        failures, locked_until = conn.execute(
            select(users.c.failed_sign_ins, users.c.locked_until).where(users.c.name == name)).one()
        if failures < policy.max_failures or (locked_until is not None
                                              and aware(locked_until) > now):
            return
        until = now + policy.lock
        conn.execute(update(users).where(users.c.name == name)
                     .values(failed_sign_ins=0, locked_until=until))
        log.append([EventDraft(EventType.USER_LOCKED, SIGN_IN_ACTOR, None, {
            "user": name, "failures": int(failures), "locked_until": format_time(until),
            "address": address}, now)], conn)


def set_password(log: CustodyLog, name: str, password: str, *, by: User, now: datetime,
                 old_password: str | None = None, keep_session: str | None = None) -> User:
    """Set ``name``'s password.

    The user themselves must give their current password (``old_password``); their other
    browser sessions end (``keep_session``: the SHA-256 of the one they use, kept). The
    operator or an admin of the user's agency sets a new one without it, which ends every
    browser session of the account and lifts a lockout. Refused alike for a name that does
    not exist and one of another agency.
    """
    own = not by.operator and by.name == name
    if not own and not by.operator and by.role is not Role.ADMIN:
        raise AccessDenied(msg("a {role} may change only their own password", role=role_words(by.role)),
                           hint=msg("an admin of your agency can set another user's password"))
    if own:
        check_new_password(name, password)
        _check_old_password(log, name, old_password)
    else:
        with log.engine.connect() as conn:  # refused before anything about the password is said
            managed_user(conn, by, name, msg("set the password of"))
        check_new_password(name, password)
    new_hash = HASHER.hash(password)
    users = tables.users
    with write_transaction(log.engine) as conn:
        if own:
            row = conn.execute(user_query().where(users.c.name == name)).first()
        else:
            row = managed_user(conn, by, name, msg("set the password of"))
        if row is None or row.revoked_at is not None:
            raise Conflict(msg("{name} is revoked; a revoked user cannot sign in", name=name),
                           hint=msg("add a new user (names are never reused)"))
        unlocked = row.locked_until is not None and aware(row.locked_until) > now
        conn.execute(update(users).where(users.c.name == name).values(
            password_hash=new_hash, password_set_at=now, failed_sign_ins=0, locked_until=None))
        ended = end_sessions_of(conn, name, now, keep=keep_session if own else None)
        if own:
            draft = EventDraft(EventType.USER_PASSWORD_CHANGED, by.actor, None,
                               {"user": name, "sessions_ended": ended}, now)
        else:
            draft = EventDraft(EventType.USER_PASSWORD_SET, by.actor, None, {
                "user": name, "reset": row.password_hash is not None, "unlocked": unlocked,
                "sessions_ended": ended}, now)
        log.append([draft], conn)
    return replace(user_from_row(row), has_password=True, locked_until=None)


def _check_old_password(log: CustodyLog, name: str, old_password: str | None) -> None:
    if old_password is None:
        raise InvalidRequest(msg("give your current password to change it"),
                             hint=msg("send old_password with the new one; if you forgot it, an admin of "
                                      "your agency can set a new one"))
    with log.engine.connect() as conn:
        stored = conn.execute(select(tables.users.c.password_hash)
                              .where(tables.users.c.name == name)).scalar()
    if stored is None:
        _matches(None, old_password)
        raise Conflict(msg("you have no password yet"),
                       hint=msg("an admin of your agency sets the first one"))
    if not _matches(stored, old_password):
        raise AccessDenied(msg("the current password is wrong"),
                           hint=msg("try again; if you forgot it, an admin of your agency can set a new one"))


def unlock_user(log: CustodyLog, name: str, *, by: User, now: datetime) -> User:
    """Lift a lockout before it ends (event ``user:account:unlocked``): the operator or an
    admin of the user's agency."""
    if not by.operator and by.role is not Role.ADMIN:
        raise AccessDenied(msg("a {role} may not unlock accounts", role=role_words(by.role)),
                           hint=msg("an admin of your agency can do this"))
    users = tables.users
    with write_transaction(log.engine) as conn:
        row = managed_user(conn, by, name, msg("unlock"))
        if row.locked_until is None or aware(row.locked_until) <= now:
            raise Conflict(msg("{name} is not locked", name=name),
                           hint=msg("nothing to do; a lockout ends by itself, or when a new password is set"))
        conn.execute(update(users).where(users.c.name == name)
                     .values(failed_sign_ins=0, locked_until=None))
        log.append([EventDraft(EventType.USER_UNLOCKED, by.actor, None, {
            "user": name, "locked_until": format_time(aware(row.locked_until))}, now)], conn)
    return replace(user_from_row(row), locked_until=None)


def require_user(log: CustodyLog, name: str) -> None:
    """For the command line: a clear error for a name nobody has (the operator may know)."""
    with log.engine.connect() as conn:
        if conn.execute(select(tables.users.c.name).where(tables.users.c.name == name)).first():
            return
    raise NotFound(msg("there is no user named {name!r}", name=name),
                   hint=msg("list users with `evidence user list`"))
