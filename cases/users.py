"""Users, roles and bearer tokens.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), shown once and
stored only as its SHA-256: a fast hash is enough for a secret that cannot be
guessed, and it lets a lookup use an index. A token expires ``token_days`` after it
was issued (EVIDENCE_TOKEN_DAYS, default 90); rotating issues a new one and ends the
old. Revoking a user ends their token; names are never reused, so ``user:<name>`` in
the custody log always means the same person.

Names are not secrets, but nothing here tells anyone outside an agency which names
exist in it: a 401 is the same for an unknown and a revoked token, and managing a
name that is not one of your agency's users is refused alike whether it exists or not.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update

from cases import tables
from cases.errors import AccessDenied, Conflict, InvalidRequest, NotAuthenticated
from cases.times import aware
from custody.events import EventDraft, format_time
from custody.log import CustodyLog
from domain.errors import AlreadyExists, NotFound
from domain.event_types import EventType
from domain.messages import listing, msg
from storage.db import write_transaction

# Letters and digits of any script (李娜, Батбаяр), '.', '_', '@', '-' and the middle dot of
# transliterated names (阿依古丽·买买提), starting with a letter or digit; valid for Python's re
# and pydantic's (Rust) regex alike. Python's is the stricter and decides.
NAME_PATTERN = r"^[^\W_][\w.@·-]{0,63}$"
OFFICER_NO_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)
ALL_AGENCIES = "*"  # an auditor scope: every agency of the region
TOKEN_DAYS = 90  # default life of a bearer token (EVIDENCE_TOKEN_DAYS)
TOKEN_DAYS_MAX = 3660
_OFFICER_NO_RE = re.compile(OFFICER_NO_PATTERN)


class Role(StrEnum):
    OFFICER = "officer"
    CASE_OFFICER = "case_officer"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"
    CLERK = "clerk"  # runs a unit's docking station: its station screen, no footage


# A role as a message names it: the English is the role's code, the catalogue has its name.
_ROLE_WORDS = {Role.OFFICER: msg("officer"), Role.CASE_OFFICER: msg("case_officer"),
               Role.REVIEWER: msg("reviewer"), Role.AUDITOR: msg("auditor"),
               Role.ADMIN: msg("admin"), Role.CLERK: msg("clerk")}


def role_words(role: Role) -> str:
    """The role for a sentence: its code in English, its name in a translation."""
    return _ROLE_WORDS[role]


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
    unit_code: str | None = None  # the unit they belong to (None: the operator only)
    agency_code: str | None = None  # their unit's agency
    auditor_scope: str | None = None  # auditors: an agency code, or "*" for every agency
    token_expires_at: datetime | None = None  # None: the operator, who has no token
    has_password: bool = False  # may sign in with a password (cases.passwords)
    locked_until: datetime | None = None  # password sign-in refused until then (lockout)

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


def scope_of(role: Role) -> str | None:
    """The scope a new user of ``role`` gets by default: every agency for an auditor."""
    return ALL_AGENCIES if role is Role.AUDITOR else None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_expiry(moment: datetime, token_days: int) -> datetime:
    if not 1 <= token_days <= TOKEN_DAYS_MAX:
        raise InvalidRequest(msg("a token cannot last {token_days} days", token_days=token_days),
                             hint=msg("set EVIDENCE_TOKEN_DAYS to 1..{token_days_max} (default "
                                      "{token_days})", token_days_max=TOKEN_DAYS_MAX, token_days=TOKEN_DAYS))
    return moment + timedelta(days=token_days)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidRequest(msg("unknown role {value!r}", value=value),
                             hint=msg("use one of: {roles}",
                                      roles=listing(r.value for r in Role))) from None


def _check_new_user(name: str, role: Role, officer_no: str | None) -> None:
    if not _NAME_RE.fullmatch(name):
        raise InvalidRequest(msg("user name {name!r} is not allowed", name=name),
                             hint=msg("use 1-64 letters (Chinese too), digits, '.', '_', '@', '-' or '·', "
                                      "starting with a letter or digit, e.g. 李娜"))
    if officer_no is not None and not _OFFICER_NO_RE.fullmatch(officer_no):
        raise InvalidRequest(msg("officer number {officer_no!r} is not allowed", officer_no=officer_no),
                             hint=msg("use 1-64 letters, digits, '.', '_' or '-'"))
    if role is Role.OFFICER and officer_no is None:
        raise InvalidRequest(msg("an officer needs an officer number"),
                             hint=msg("pass the officer number their recorder writes (e.g. 100234)"))


def add_user(log: CustodyLog, name: str, role: Role, officer_no: str | None, *, by: User,
             unit_code: str, auditor_scope: str | None = None,
             now: datetime | None = None, token_days: int = TOKEN_DAYS) -> tuple[User, str]:
    """Create a user of ``unit_code`` and their token; returns (user, token), shown only here.

    ``by`` is the operator, or an admin of the unit's agency. An auditor's scope is
    one agency's code or ``*`` (every agency: the operator only); no other role has one.
    """
    if not by.operator and by.role is not Role.ADMIN:
        raise AccessDenied(msg("a {role} may not add users", role=role_words(by.role)),
                           hint=msg("an admin of the unit's agency can do this"))
    _check_new_user(name, role, officer_no)
    _check_scope(role, auditor_scope)
    moment = now or datetime.now(UTC)
    expires = token_expiry(moment, token_days)
    token = new_token()
    with write_transaction(log.engine) as conn:
        agency = _unit_agency(conn, unit_code)
        _require_admin_of(by, agency, msg("add users to unit {unit_code}", unit_code=unit_code))
        if auditor_scope is not None and auditor_scope != ALL_AGENCIES:
            if conn.execute(select(tables.agencies.c.code)
                            .where(tables.agencies.c.code == auditor_scope)).first() is None:
                raise NotFound(msg("there is no agency {auditor_scope!r} for the auditor's scope",
                                   auditor_scope=auditor_scope),
                               hint=msg("list agencies with `evidence agency list`"))
            _require_admin_of(by, auditor_scope, msg("give an auditor the scope {auditor_scope}",
                                                     auditor_scope=auditor_scope))
        elif auditor_scope == ALL_AGENCIES and not by.operator:
            raise AccessDenied(msg("only the server's operator may make an auditor of every agency"),
                               hint=msg("scope the auditor to your agency"))
        if conn.execute(select(tables.users.c.name).where(tables.users.c.name == name)).first():
            # Says no more than that the name is taken (not whose, nor if revoked): names are
            # unique across the region, so a taken name cannot be hidden from its next claimant.
            raise AlreadyExists(msg("the user name {name!r} is taken", name=name),
                                hint=msg("names are never reused; choose another name"))
        conn.execute(insert(tables.users).values(
            name=name, role=role_words(role), officer_no=officer_no, token_sha256=token_digest(token),
            created_at=moment, created_by=by.actor, unit_code=unit_code,
            auditor_scope=auditor_scope, token_expires_at=expires))
        log.append([EventDraft(EventType.USER_CREATED, by.actor, None, {
            "user": name, "role": role.value, "officer_no": officer_no, "unit": unit_code,
            "auditor_scope": auditor_scope, "token_expires_at": format_time(expires)}, moment)],
            conn)
    return User(name, role, officer_no, moment, unit_code=unit_code, agency_code=agency,
                auditor_scope=auditor_scope, token_expires_at=expires), token


def _check_scope(role: Role, auditor_scope: str | None) -> None:
    if role is Role.AUDITOR and auditor_scope is None:
        raise InvalidRequest(msg("an auditor needs a scope"),
                             hint=msg("give the code of the agency they audit, or '*' for every agency"))
    if role is not Role.AUDITOR and auditor_scope is not None:
        raise InvalidRequest(msg("only auditors have a scope, not a {role}", role=role_words(role)),
                             hint=msg("drop the scope; other roles are scoped by their unit"))


def _unit_agency(conn: Connection, unit_code: str) -> str:
    agency = conn.execute(select(tables.units.c.agency_code)
                          .where(tables.units.c.code == unit_code)).scalar()
    if agency is None:
        raise NotFound(msg("there is no unit {unit_code!r}", unit_code=unit_code),
                       hint=msg("list units with `evidence unit list`"))
    return str(agency)


def _require_admin_of(by: User, agency_code: str, action: str) -> None:
    if by.operator or (by.role is Role.ADMIN and by.agency_code == agency_code):
        return
    raise AccessDenied(msg("{by} may not {action}", by=by.name, action=action),
                       hint=msg("an admin of agency {agency_code} can do this", agency_code=agency_code))


def revoke_user(log: CustodyLog, name: str, *, by: User, now: datetime | None = None) -> User:
    """End a user's token for good (the operator, or an admin of the user's agency)."""
    if not by.operator and by.role is not Role.ADMIN:
        raise AccessDenied(msg("a {role} may not revoke users", role=role_words(by.role)),
                           hint=msg("an admin of your agency can do this"))
    if not by.operator and by.name == name:
        raise AccessDenied(msg("you cannot revoke your own token"),
                           hint=msg("ask another admin, or use `evidence user revoke` on the server"))
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        row = _managed_user(conn, by, name, msg("revoke"))
        if row.revoked_at is not None:
            raise NotFound(msg("there is no active user named {name!r}", name=name),
                           hint=msg("list users with `evidence user list`"))
        conn.execute(update(tables.users).where(tables.users.c.name == name)
                     .values(revoked_at=moment, revoked_by=by.actor))
        log.append([EventDraft(EventType.USER_REVOKED, by.actor, None, {"user": name}, moment)],
                   conn)
    return replace(_user(row), revoked_at=moment)


def rotate_token(log: CustodyLog, name: str, *, by: User, now: datetime | None = None,
                 token_days: int = TOKEN_DAYS) -> tuple[User, str]:
    """A new token for ``name``, ending the old one at once (event ``user:token:rotated``).

    The operator, an admin of the user's agency, or the user themselves. Returns
    (user, token); the token is shown only here.
    """
    if not by.operator and by.role is not Role.ADMIN and by.name != name:
        raise AccessDenied(msg("a {role} may renew only their own token", role=role_words(by.role)),
                           hint=msg("an admin of your agency can renew another user's token"))
    moment = now or datetime.now(UTC)
    expires = token_expiry(moment, token_days)
    token = new_token()
    with write_transaction(log.engine) as conn:
        if by.name == name and not by.operator:  # their own: they hold its token, so it exists
            row = conn.execute(_user_query().where(tables.users.c.name == name)).first()
        else:
            row = _managed_user(conn, by, name, msg("renew the token of"))
        if row is None or row.revoked_at is not None:
            raise Conflict(msg("{name} is revoked; a revoked user gets no new token", name=name),
                           hint=msg("add a new user (names are never reused)"))
        conn.execute(update(tables.users).where(tables.users.c.name == name)
                     .values(token_sha256=token_digest(token), token_expires_at=expires))
        log.append([EventDraft(EventType.USER_TOKEN_ROTATED, by.actor, None, {
            "user": name, "token_expires_at": format_time(expires)}, moment)], conn)
    return replace(_user(row), token_expires_at=expires), token


def managed_user(conn: Connection, by: User, name: str, action: str) -> Any:
    """``_managed_user`` for the other account modules (passwords, lockout)."""
    return _managed_user(conn, by, name, action)


def user_query() -> Any:
    """The users table joined to their unit's agency (rows for ``user_from_row``)."""
    return _user_query()


def user_from_row(row: Row[Any]) -> User:
    return _user(row)


def _managed_user(conn: Connection, by: User, name: str, action: str) -> Any:
    """The row of ``name`` if ``by`` may manage them; refused alike when the name does not
    exist and when it is a user of another agency, so that neither is told apart."""
    row = conn.execute(_user_query().where(tables.users.c.name == name)).first()
    if by.operator:
        if row is None:
            raise NotFound(msg("there is no user named {name!r}", name=name),
                           hint=msg("list users with `evidence user list`"))
        return row
    if row is None or by.role is not Role.ADMIN or row.agency_code != by.agency_code:
        raise AccessDenied(msg("{by} may not {action} a user named {name!r}", by=by.name, action=action,
                               name=name),
                           hint=msg("an admin manages the users of their own agency; check the name in "
                                    "the list of users"))
    return row


def list_users(engine: Engine, by: User) -> list[User]:
    """Every user for the operator; for an admin, the users of their agency's units."""
    if not by.operator and by.role is not Role.ADMIN:
        raise AccessDenied(msg("a {role} may not list users", role=role_words(by.role)),
                           hint=msg("an admin of your agency can list its users"))
    query = _user_query().order_by(tables.users.c.name)
    if not by.operator:
        query = query.where(tables.units.c.agency_code == by.agency_code)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [_user(row) for row in rows]


def get_user(engine: Engine, name: str) -> User:
    with engine.connect() as conn:
        row = conn.execute(_user_query().where(tables.users.c.name == name)).first()
    if row is None:
        raise NotFound(msg("there is no user named {name!r}", name=name))
    return _user(row)


def authenticate(engine: Engine, token: str | None, now: datetime | None = None) -> User:
    """The active user holding an unexpired ``token``; NotAuthenticated otherwise.

    An unknown and a revoked token get the same answer; an expired one (which its holder
    was given, so it tells them nothing new) says how to get a new one.
    """
    if not token:
        raise NotAuthenticated(msg("this request needs a bearer token"),
                               hint=msg("send 'Authorization: Bearer <token>'; an admin issues tokens with "
                                        "`evidence user add`"))
    with engine.connect() as conn:
        row = conn.execute(_user_query().where(
            tables.users.c.token_sha256 == token_digest(token))).first()
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated(msg("the bearer token is unknown or revoked"),
                               hint=msg("ask an admin for a new token"))
    user = _user(row)
    if user.token_expires_at is None or (now or datetime.now(UTC)) >= user.token_expires_at:
        raise NotAuthenticated(msg("the bearer token has expired"),
                               hint=msg("ask an admin of your agency to renew it (`evidence user rotate "
                                        "NAME`, or on the user's page); renew it yourself before it "
                                        "expires"))
    return user


def _user(row: Row[Any]) -> User:
    """A user from a row of ``_USER_COLUMNS`` (the users table joined to the unit's agency)."""
    return User(row.name, Role(row.role), row.officer_no, aware(row.created_at),
                aware(row.revoked_at) if row.revoked_at is not None else None,
                unit_code=row.unit_code, agency_code=row.agency_code,
                auditor_scope=row.auditor_scope,
                token_expires_at=aware(row.token_expires_at) if row.token_expires_at else None,
                has_password=row.password_hash is not None,
                locked_until=aware(row.locked_until) if row.locked_until else None)


def _user_query() -> Any:
    u, units = tables.users, tables.units
    return select(u, units.c.agency_code).select_from(
        u.outerjoin(units, units.c.code == u.c.unit_code))


UNCHANGED: Any = object()  # change_user: a field the request does not name


def change_user(log: CustodyLog, name: str, *, by: User, role: Role | None = None,
                unit_code: str | None = None, officer_no: str | None = None,
                auditor_scope: Any = UNCHANGED, now: datetime | None = None) -> User:
    """Change a user's role, unit, officer number or auditor scope (event
    ``user:account:changed`` with the values before and after).

    The operator, or an admin of the user's agency who is also an admin of the new unit's
    (so only the operator moves a user to another agency, and only once they manage no case
    of their old one). Nobody changes their own account. A user who stops being an auditor
    loses their scope; one who becomes an auditor needs one. Their token is unchanged.
    """
    if not by.operator and by.role is not Role.ADMIN:
        raise AccessDenied(msg("a {role} may not change users", role=role_words(by.role)),
                           hint=msg("an admin of your agency can do this"))
    if not by.operator and by.name == name:
        raise AccessDenied(msg("you cannot change your own account"),
                           hint=msg("ask another admin of your agency"))
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        row = _managed_user(conn, by, name, msg("change"))
        if row.revoked_at is not None:
            raise Conflict(msg("{name} is revoked and cannot be changed", name=name),
                           hint=msg("add a new user (names are never reused)"))
        before = {"role": row.role, "unit": row.unit_code, "officer_no": row.officer_no,
                  "auditor_scope": row.auditor_scope}
        after = dict(before)
        if role is not None:
            after["role"] = role.value
        if unit_code is not None:
            after["unit"] = unit_code
        if officer_no is not None:
            after["officer_no"] = officer_no
        if auditor_scope is not UNCHANGED:
            after["auditor_scope"] = auditor_scope
        elif after["role"] != Role.AUDITOR.value:
            after["auditor_scope"] = None  # only auditors have a scope
        if after == before:
            raise InvalidRequest(msg("the request changes nothing of {name}", name=name),
                                 hint=msg("give a new role, unit, officer number or scope"))
        new_role = Role(after["role"])
        _check_new_user(name, new_role, after["officer_no"])
        _check_scope(new_role, after["auditor_scope"])
        agency = _unit_agency(conn, after["unit"]) if after["unit"] is not None else None
        if after["unit"] != before["unit"]:
            _require_admin_of(by, agency or "", msg("move users to unit {unit}", unit=after['unit']))
            if agency != row.agency_code:
                _require_no_cases_elsewhere(conn, name, agency)
        if after["auditor_scope"] != before["auditor_scope"]:
            _require_may_scope(conn, by, after["auditor_scope"])
        conn.execute(update(tables.users).where(tables.users.c.name == name).values(
            role=after["role"], unit_code=after["unit"], officer_no=after["officer_no"],
            auditor_scope=after["auditor_scope"]))
        log.append([EventDraft(EventType.USER_CHANGED, by.actor, None, {
            "user": name, "before": before, "after": after}, moment)], conn)
    return replace(_user(row), role=new_role, unit_code=after["unit"], agency_code=agency,
                   officer_no=after["officer_no"], auditor_scope=after["auditor_scope"])


def _require_may_scope(conn: Connection, by: User, scope: str | None) -> None:
    if scope is None:
        return
    if scope == ALL_AGENCIES:
        if not by.operator:
            raise AccessDenied(msg("only the server's operator may make an auditor of every agency"),
                               hint=msg("scope the auditor to your agency"))
        return
    if conn.execute(select(tables.agencies.c.code)
                    .where(tables.agencies.c.code == scope)).first() is None:
        raise NotFound(msg("there is no agency {scope!r} for the auditor's scope", scope=scope),
                       hint=msg("list agencies with `evidence agency list`"))
    _require_admin_of(by, scope, msg("give an auditor the scope {scope}", scope=scope))


def _require_no_cases_elsewhere(conn: Connection, name: str, agency: str | None) -> None:
    """A case officer manages only cases of their own agency (``access.require_assignable``)."""
    co, cs, units = tables.case_officers, tables.cases, tables.units
    numbers = [n for (n,) in conn.execute(
        select(cs.c.number).join(co, co.c.case_id == cs.c.id)
        .outerjoin(units, units.c.code == cs.c.unit_code)
        .where(co.c.user_name == name, (units.c.agency_code != agency)
               | units.c.agency_code.is_(None)).order_by(cs.c.number))]
    if numbers:
        raise Conflict(msg("{name} manages case(s) {numbers} of their old agency", name=name,
                           numbers=', '.join(numbers[:5])),
                       hint=msg("remove them from those cases' officers first"))


def revoke_token(log: CustodyLog, name: str, *, by: User, now: datetime | None = None) -> User:
    """End a user's bearer token at once without revoking the account (event
    ``user:token:revoked``): a token that leaked. The account stays; the user gets a token
    again when one is issued (``rotate_token``). The operator, an admin of the user's agency,
    or the user themselves."""
    if not by.operator and by.role is not Role.ADMIN and by.name != name:
        raise AccessDenied(msg("a {role} may end only their own token", role=role_words(by.role)),
                           hint=msg("an admin of your agency can end another user's token"))
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        if by.name == name and not by.operator:
            row = conn.execute(_user_query().where(tables.users.c.name == name)).first()
        else:
            row = _managed_user(conn, by, name, msg("end the token of"))
        if row is None or row.revoked_at is not None:
            raise Conflict(msg("{name} is revoked; their token already ended", name=name),
                           hint=msg("check the name in the list of users"))
        # a digest no token has: the old token stops matching, and no new one is shown
        conn.execute(update(tables.users).where(tables.users.c.name == name)
                     .values(token_sha256=token_digest(new_token()), token_expires_at=moment))
        log.append([EventDraft(EventType.USER_TOKEN_REVOKED, by.actor, None, {"user": name},
                               moment)], conn)
    return replace(_user(row), token_expires_at=moment)
