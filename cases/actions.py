"""Enforcement actions (执法行为) on cases, the agency's list of enforcement matters
(执法事项清单) and officers' enforcement certificates (执法证).

One function per task; the CLI (``api/cli_actions.py``) and the HTTP API
(``api/http/routes_actions.py``) call the same ones, so each change is the same custody
event from either. A party's personal id number is kept in the catalogue only: the custody
events carry it masked (``mask_id_number``), since the log can never be edited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from cases import access, tables
from cases.case_records import case_row
from cases.errors import Conflict, InvalidRequest
from cases.organisation import require_org_admin
from cases.text import clean_text
from cases.times import aware
from cases.users import ALL_AGENCIES, Role, User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import AlreadyExists, NotFound
from domain.event_types import EventType
from domain.messages import clauses, listing, msg
from storage.db import write_transaction

NAME_MAX = 200
TEXT_MAX = 2000
TIME_LIMIT_MAX = 3650  # working days
ON_SITE_MINIMUM = 2  # handling officers of on-site work (现场执法: two or more)


class ActionKind(StrEnum):
    LICENSING = "licensing"  # 许可
    PENALTY = "penalty"  # 处罚
    COMPULSORY = "compulsory"  # 强制
    LEVY = "levy"  # 征收征用
    INSPECTION = "inspection"  # 检查


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class ActionState(StrEnum):
    DRAFT = "draft"
    DECIDED = "decided"


@dataclass(frozen=True)
class Matter:
    id: str
    agency_code: str
    name: str
    legal_basis: str
    procedure: str
    time_limit_days: int
    remedy: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class Certificate:
    number: str
    user_name: str
    issuing_body: str
    valid_from: date
    valid_to: date

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class Party:
    kind: PartyKind
    name: str
    id_number: str | None = None  # personal id or organisation code: catalogue only


@dataclass(frozen=True)
class Action:
    id: str
    case_id: str
    kind: ActionKind
    matter_id: str
    matter_name: str
    party: Party
    on_site: bool
    action_date: date
    state: ActionState
    officers: tuple[str, ...]
    created_at: datetime
    created_by: str


def _text(value: str, what: str, max_length: int = NAME_MAX) -> str:
    return clean_text(value, what, max_length)


def mask_id_number(value: str | None) -> str | None:
    """What a custody event says of an id number: its first 3 and last 2 characters."""
    if value is None:
        return None
    if len(value) <= 5:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


def _party_event(party: Party) -> dict[str, Any]:
    return {"kind": party.kind.value, "name": party.name,
            "id_number": mask_id_number(party.id_number)}


# --- the agency's list of enforcement matters ------------------------------------------------

def _matter_event(m: Matter) -> dict[str, Any]:
    return {"matter_id": m.id, "agency": m.agency_code, "name": m.name,
            "legal_basis": m.legal_basis, "procedure": m.procedure,
            "time_limit_days": m.time_limit_days, "remedy": m.remedy}


def _check_limit(days: int) -> int:
    if not 1 <= days <= TIME_LIMIT_MAX:
        raise InvalidRequest(msg("a time limit of {days} working days is not allowed", days=days),
                             hint=msg("give 1 to {time_limit_max} working days",
                                      time_limit_max=TIME_LIMIT_MAX))
    return days


def add_matter(log: CustodyLog, user: User, agency_code: str, name: str, legal_basis: str,
               procedure: str, time_limit_days: int, remedy: str,
               now: datetime | None = None) -> Matter:
    """An admin of the agency adds an enforcement matter to its list (``org:matter:added``)."""
    require_org_admin(user, agency_code, f"edit the enforcement matters of agency {agency_code}")
    moment = now or datetime.now(UTC)
    matter = Matter(str(uuid.uuid4()), agency_code, _text(name, "matter name"),
                    _text(legal_basis, "legal basis", TEXT_MAX),
                    _text(procedure, "procedure", TEXT_MAX), _check_limit(time_limit_days),
                    _text(remedy, "remedy channels", TEXT_MAX), moment, user.name)
    m = tables.enforcement_matters
    with write_transaction(log.engine) as conn:
        if conn.execute(select(tables.agencies.c.code).where(
                tables.agencies.c.code == agency_code)).first() is None:
            raise NotFound(msg("there is no agency {agency_code!r}", agency_code=agency_code),
                           hint=msg("list agencies with `evidence agency list`"))
        if conn.execute(select(m.c.id).where(m.c.agency_code == agency_code,
                                             m.c.name == matter.name)).first():
            raise AlreadyExists(msg("agency {agency_code} already lists the matter {matter!r}",
                                    agency_code=agency_code, matter=matter.name),
                                hint=msg("change the existing matter instead"))
        conn.execute(insert(m).values(
            id=matter.id, agency_code=agency_code, name=matter.name,
            legal_basis=matter.legal_basis, procedure=matter.procedure,
            time_limit_days=matter.time_limit_days, remedy=matter.remedy,
            updated_at=moment, updated_by=user.name))
        log.append([EventDraft(EventType.MATTER_ADDED, user.actor, None, _matter_event(matter),
                               moment)], conn)
    return matter


def change_matter(log: CustodyLog, user: User, matter_id: str, *, name: str | None = None,
                  legal_basis: str | None = None, procedure: str | None = None,
                  time_limit_days: int | None = None, remedy: str | None = None,
                  now: datetime | None = None) -> Matter:
    """An admin of the agency changes a matter (``org:matter:changed``, with before and after)."""
    moment = now or datetime.now(UTC)
    m = tables.enforcement_matters
    with write_transaction(log.engine) as conn:
        before = _matter(conn, matter_id)
        require_org_admin(user, before.agency_code,
                          f"edit the enforcement matters of agency {before.agency_code}")
        after = Matter(
            before.id, before.agency_code,
            _text(name, "matter name") if name is not None else before.name,
            _text(legal_basis, "legal basis", TEXT_MAX) if legal_basis is not None
            else before.legal_basis,
            _text(procedure, "procedure", TEXT_MAX) if procedure is not None else before.procedure,
            _check_limit(time_limit_days) if time_limit_days is not None
            else before.time_limit_days,
            _text(remedy, "remedy channels", TEXT_MAX) if remedy is not None else before.remedy,
            moment, user.name)
        if _matter_event(after) == _matter_event(before):
            raise InvalidRequest(msg("nothing to change"), hint=msg("give at least one new value"))
        if after.name != before.name and conn.execute(select(m.c.id).where(
                m.c.agency_code == after.agency_code, m.c.name == after.name)).first():
            raise AlreadyExists(msg("agency {agency_code} already lists the matter {after!r}",
                                    agency_code=after.agency_code, after=after.name))
        conn.execute(update(m).where(m.c.id == matter_id).values(
            name=after.name, legal_basis=after.legal_basis, procedure=after.procedure,
            time_limit_days=after.time_limit_days, remedy=after.remedy, updated_at=moment,
            updated_by=user.name))
        log.append([EventDraft(EventType.MATTER_CHANGED, user.actor, None, {
            "before": _matter_event(before), "after": _matter_event(after)}, moment)], conn)
    return after


def list_matters(engine: Engine, user: User, agency_code: str | None = None) -> list[Matter]:
    """The enforcement matters of the user's agency (the operator: of every agency, or one)."""
    access.require_role(user, access.READ_CASES, "list enforcement matters")
    if user.operator or (user.role is Role.AUDITOR and user.auditor_scope == ALL_AGENCIES):
        agency = agency_code
    elif user.role is Role.AUDITOR:
        agency = user.auditor_scope
    else:
        agency = user.agency_code
    m = tables.enforcement_matters
    query = select(m)
    if agency is not None:
        query = query.where(m.c.agency_code == agency)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(m.c.agency_code, m.c.name)).all()
    return [_matter_of(r) for r in rows]


def _matter_of(r: Any) -> Matter:
    return Matter(r.id, r.agency_code, r.name, r.legal_basis, r.procedure, r.time_limit_days,
                  r.remedy, aware(r.updated_at), r.updated_by)


def _matter(conn: Connection, matter_id: str) -> Matter:
    m = tables.enforcement_matters
    row = conn.execute(select(m).where(m.c.id == matter_id)).first()
    if row is None:
        raise NotFound(msg("there is no enforcement matter {matter_id}", matter_id=matter_id),
                       hint=msg("list the agency's matters with `evidence matter list`"))
    return _matter_of(row)


# --- enforcement certificates -----------------------------------------------------------------

def add_certificate(log: CustodyLog, user: User, holder: str, number: str, issuing_body: str,
                    valid_from: date, valid_to: date, now: datetime | None = None) -> Certificate:
    """An admin of the holder's agency records an enforcement certificate
    (``user:certificate:added``)."""
    number = _text(number, "certificate number", 64)
    cert = Certificate(number, holder, _text(issuing_body, "issuing body"), valid_from, valid_to)
    moment = now or datetime.now(UTC)
    c, u = tables.enforcement_certificates, tables.users
    with write_transaction(log.engine) as conn:
        row = conn.execute(select(u).where(u.c.name == holder)).first()
        if row is None or row.revoked_at is not None:
            raise NotFound(msg("there is no active user {holder!r}", holder=holder),
                           hint=msg("list users with `evidence user list`"))
        agency = access.unit_agency(conn, row.unit_code)
        require_org_admin(user, agency or "", f"record certificates of agency {agency}")
        if valid_to < valid_from:
            raise InvalidRequest(msg("certificate {number} would end ({valid_to}) before it begins "
                                     "({valid_from})", number=number, valid_to=valid_to,
                                     valid_from=valid_from),
                                 hint=msg("give valid-from on or before valid-to"))
        if conn.execute(select(c.c.number).where(c.c.number == number)).first():
            raise AlreadyExists(msg("certificate {number} is already recorded", number=number),
                                hint=msg("certificate numbers are unique"))
        conn.execute(insert(c).values(number=number, user_name=holder,
                                      issuing_body=cert.issuing_body, valid_from=valid_from,
                                      valid_to=valid_to, created_at=moment, created_by=user.name))
        log.append([EventDraft(EventType.CERTIFICATE_ADDED, user.actor, None, {
            "user": holder, "number": number, "issuing_body": cert.issuing_body,
            "valid_from": valid_from.isoformat(), "valid_to": valid_to.isoformat()}, moment)],
            conn)
    return cert


def certificates_of(conn: Connection, holder: str) -> list[Certificate]:
    c = tables.enforcement_certificates
    return [Certificate(r.number, r.user_name, r.issuing_body, r.valid_from, r.valid_to)
            for r in conn.execute(select(c).where(c.c.user_name == holder)
                                  .order_by(c.c.valid_to.desc()))]


def list_certificates(engine: Engine, user: User, holder: str) -> list[Certificate]:
    """A user's certificates: themselves, an admin of their agency, or the operator."""
    with engine.connect() as conn:
        if holder != user.name and not user.operator:
            row = conn.execute(select(tables.users.c.unit_code).where(
                tables.users.c.name == holder)).first()
            agency = access.unit_agency(conn, row.unit_code) if row else None
            require_org_admin(user, agency or "", f"read certificates of agency {agency}")
        return certificates_of(conn, holder)


# --- enforcement actions ----------------------------------------------------------------------

MANAGE = access.MANAGE_CASE


def open_action(log: CustodyLog, user: User, case_id: str, kind: ActionKind, matter_id: str,
                party: Party, on_site: bool, action_date: date,
                now: datetime | None = None) -> Action:
    """A new enforcement action on a case, as a draft (``case:action:opened``).

    Case officers of the case and admins of its agency; the matter must be on the list of
    the case's agency.
    """
    what = "open an enforcement action on this case"
    access.require_role(user, MANAGE, what)
    party = Party(party.kind, _text(party.name, "party name"),
                  _text(party.id_number, "party id number", 64) if party.id_number else None)
    moment = now or datetime.now(UTC)
    action_id = str(uuid.uuid4())
    with write_transaction(log.engine) as conn:
        case = case_row(conn, case_id)
        access.require_case_access(conn, user, case_id, MANAGE, what)
        matter = _matter(conn, matter_id)
        agency = access.unit_agency(conn, case.unit_code)
        if matter.agency_code != agency:
            raise InvalidRequest(msg("the matter {matter!r} is on the list of agency {agency_code}, not of "
                                     "agency {agency} of case {number}", matter=matter.name,
                                     agency_code=matter.agency_code, agency=agency, number=case.number),
                                 hint=msg("choose a matter from the list of the case's agency"))
        conn.execute(insert(tables.enforcement_actions).values(
            id=action_id, case_id=case_id, kind=kind.value, matter_id=matter_id,
            party_kind=party.kind.value, party_name=party.name, party_id_number=party.id_number,
            on_site=on_site, action_date=action_date, state=ActionState.DRAFT.value,
            created_at=moment, created_by=user.name))
        log.append([EventDraft(EventType.ACTION_OPENED, user.actor, None, {
            "case_id": case_id, "case_number": case.number, "action_id": action_id,
            "kind": kind.value, "matter_id": matter_id, "matter": matter.name,
            "party": _party_event(party), "on_site": on_site,
            "action_date": action_date.isoformat()}, moment)], conn)
        return load_action(conn, action_id)


def assign_handlers(log: CustodyLog, user: User, action_id: str, officers: list[str],
                    now: datetime | None = None) -> Action:
    """Name the action's handling officers, replacing any named before
    (``case:action:handlers-assigned``).

    Each must be an active user of the case's agency holding an enforcement certificate
    valid on the action's date; on-site work needs at least two.
    """
    what = "assign handling officers to this action"
    access.require_role(user, MANAGE, what)
    names = sorted(set(officers))
    if len(names) != len(officers) or not names:
        raise InvalidRequest(msg("name each handling officer once, and at least one"),
                             hint=msg("list every handling officer once"))
    moment = now or datetime.now(UTC)
    ao = tables.action_officers
    with write_transaction(log.engine) as conn:
        row = action_row(conn, action_id)
        case = case_row(conn, row.case_id)
        access.require_case_access(conn, user, row.case_id, MANAGE, what)
        if row.state != ActionState.DRAFT.value:
            raise Conflict(msg("the action is {state}; its handling officers can no longer change",
                               state=row.state))
        if row.on_site and len(names) < ON_SITE_MINIMUM:
            raise InvalidRequest(
                msg("on-site enforcement needs at least {on_site_minimum} handling officers holding valid "
                    "certificates; {names_count} named", on_site_minimum=ON_SITE_MINIMUM,
                    names_count=len(names)),
                hint=msg("name a second officer with a certificate valid on {action_date}",
                         action_date=row.action_date.isoformat()))
        agency = access.unit_agency(conn, case.unit_code)
        problems = []
        certified: dict[str, str] = {}
        for name in names:
            target = conn.execute(select(tables.users).where(tables.users.c.name == name)).first()
            if target is None or target.revoked_at is not None \
                    or access.unit_agency(conn, target.unit_code) != agency:
                problems.append(msg("{name} is no active user of agency {agency}", name=name,
                                    agency=agency))
                continue
            valid = [c for c in certificates_of(conn, name) if c.valid_on(row.action_date)]
            if not valid:
                problems.append(msg("{name} holds no enforcement certificate valid on {day}",
                                    name=name, day=row.action_date.isoformat()))
                continue
            certified[name] = valid[0].number
        if problems:
            raise InvalidRequest(
                msg("handling officers refused: {problems}", problems=clauses(problems)),
                hint=msg("name officers of the case's agency whose certificate is valid on the action's "
                         "date; an admin records certificates with `evidence certificate add` or on the "
                         "officer's page"))
        conn.execute(ao.delete().where(ao.c.action_id == action_id))
        for name in names:
            conn.execute(insert(ao).values(action_id=action_id, user_name=name,
                                           certificate_number=certified[name],
                                           assigned_at=moment))
        log.append([EventDraft(EventType.ACTION_HANDLERS_ASSIGNED, user.actor, None, {
            "case_id": case.id, "case_number": case.number, "action_id": action_id,
            "officers": [{"user": n, "certificate": certified[n]} for n in names],
            "action_date": row.action_date.isoformat(), "on_site": bool(row.on_site)},
            moment)], conn)
        return load_action(conn, action_id)


def list_actions(engine: Engine, user: User, case_id: str) -> list[Action]:
    """The enforcement actions of a case the user may read."""
    what = "read this case's enforcement actions"
    access.require_role(user, access.READ_CASES, what)
    a = tables.enforcement_actions
    with engine.connect() as conn:
        case_row(conn, case_id)
        access.require_case_access(conn, user, case_id, access.READ_CASES, what)
        ids = conn.execute(select(a.c.id).where(a.c.case_id == case_id)
                           .order_by(a.c.created_at, a.c.id)).scalars().all()
        return [load_action(conn, i) for i in ids]


def get_action(engine: Engine, user: User, action_id: str) -> Action:
    what = "read this enforcement action"
    access.require_role(user, access.READ_CASES, what)
    with engine.connect() as conn:
        row = action_row(conn, action_id)
        access.require_case_access(conn, user, row.case_id, access.READ_CASES, what)
        return load_action(conn, action_id)


def action_row(conn: Connection, action_id: str) -> Any:
    a = tables.enforcement_actions
    row = conn.execute(select(a).where(a.c.id == action_id)).first()
    if row is None:
        raise NotFound(msg("there is no enforcement action {action_id}", action_id=action_id),
                       hint=msg("check the action in the list of the case's actions"))
    return row


def load_action(conn: Connection, action_id: str) -> Action:
    row = action_row(conn, action_id)
    ao = tables.action_officers
    matter = _matter(conn, row.matter_id)
    officers = tuple(conn.execute(select(ao.c.user_name).where(ao.c.action_id == action_id)
                                  .order_by(ao.c.user_name)).scalars())
    return Action(row.id, row.case_id, ActionKind(row.kind), row.matter_id, matter.name,
                  Party(PartyKind(row.party_kind), row.party_name, row.party_id_number),
                  bool(row.on_site), row.action_date, ActionState(row.state), officers,
                  aware(row.created_at), row.created_by)


def parse_kind(value: str) -> ActionKind:
    try:
        return ActionKind(value)
    except ValueError:
        raise InvalidRequest(msg("{value!r} is no kind of enforcement action", value=value),
                             hint=msg("one of: {kinds}", kinds=listing(k.value for k in ActionKind))
                             ) from None


def parse_party_kind(value: str) -> PartyKind:
    try:
        return PartyKind(value)
    except ValueError:
        raise InvalidRequest(msg("{value!r} is no kind of party", value=value),
                             hint=msg("one of: person, organisation")) from None

