"""Case records: create, list, read; attach and detach evidence; assign case officers.

Each change and its custody event commit in one transaction. Footage attached
to a case is kept permanently (see ``cases.retention``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select

from cases import access, tables
from cases.custody_index import EVENTS_SHOWN, LoggedEvent, events_for
from cases.errors import AccessDenied, BatchRefused, InvalidRequest
from cases.evidence import evidence_row
from cases.organisation import case_number_rule
from cases.paging import Page
from cases.retention import CASE, retain_permanently
from cases.text import REASON_MAX, clean_optional, clean_text
from cases.times import aware
from cases.users import User
from custody.events import JSON, EventDraft, Subject, format_time
from custody.log import CustodyLog
from domain.errors import AlreadyExists, EvidenceError, NotFound
from domain.event_types import EventType
from domain.messages import msg
from storage import catalog
from storage.db import write_transaction
from storage.objects import ObjectStore
from storage.records import EvidenceRecord

TITLE_MAX = 300


@dataclass(frozen=True)
class Case:
    id: str
    number: str
    title: str
    created_at: datetime
    created_by: str
    officers: tuple[str, ...]
    evidence_count: int
    unit_code: str | None = None  # the unit that owns the case: its creator's
    review_requested_at: datetime | None = None  # sent for review (see cases.review)
    review_requested_by: str | None = None


@dataclass(frozen=True)
class AttachedEvidence:
    evidence_id: str
    sha256: str
    original_name: str
    attached_at: datetime
    attached_by: str


@dataclass(frozen=True)
class CaseDetail:
    case: Case
    evidence: list[AttachedEvidence]
    events: list[LoggedEvent]
    events_truncated: bool = False


def create_case(log: CustodyLog, user: User, title: str, number: str,
                now: datetime | None = None, *, unit_code: str | None = None) -> Case:
    """A case of the creator's unit, managed by its creator (event ``case:record:created``).

    ``unit_code`` names the unit when the creator belongs to none (the operator).
    """
    access.require_role(user, access.CREATE_CASE, msg("create a case"))
    unit = user.unit_code if not user.operator else unit_code
    if unit is None:
        raise InvalidRequest(msg("a case belongs to a unit, and the creator belongs to none"),
                             hint=msg("name the unit the case belongs to"))
    title = clean_text(title, msg("case title"), TITLE_MAX)  # stored and logged alike
    moment = now or datetime.now(UTC)
    case_id = str(uuid.uuid4())
    with write_transaction(log.engine) as conn:
        # the rule of the case's agency (cases.organisation); NotFound for an unknown unit
        number = case_number_rule(conn, unit).check(number)
        if conn.execute(select(tables.cases.c.id).where(tables.cases.c.number == number)).first():
            raise AlreadyExists(msg("a case numbered {number!r} already exists", number=number),
                                hint=msg("case numbers are unique; open the existing case"))
        conn.execute(insert(tables.cases).values(id=case_id, number=number, title=title,
                                                 created_at=moment, created_by=user.name,
                                                 unit_code=unit))
        managers = () if user.operator else (user.name,)
        for name in managers:  # the operator is no user: it manages through its admin right
            conn.execute(insert(tables.case_officers).values(case_id=case_id, user_name=name,
                                                             assigned_at=moment))
        log.append([EventDraft(EventType.CASE_CREATED, user.actor, None, {
            "case_id": case_id, "number": number, "title": title, "unit": unit}, moment)], conn)
    return Case(case_id, number, title, moment, user.name, managers, 0, unit)


def list_cases(engine: Engine, user: User, offset: int = 0, limit: int = 50) -> Page[Case]:
    access.require_role(user, access.READ_CASES, msg("list cases"))
    c = tables.cases
    query = select(c.c.id).where(access.visible_cases(user))
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        ids = [row[0] for row in conn.execute(
            query.order_by(c.c.created_at.desc(), c.c.id).offset(offset).limit(limit))]
        items = [load_case(conn, case_id) for case_id in ids]
    return Page(items, total, offset, limit)


def case_detail(engine: Engine, user: User, case_id: str) -> CaseDetail:
    access.require_role(user, access.READ_CASES, msg("read cases"))
    with engine.connect() as conn:
        case = load_case(conn, case_id)
        access.require_case_access(conn, user, case_id, access.READ_CASES, msg("read this case"))
        ce, ev = tables.case_evidence, catalog.evidence
        rows = conn.execute(select(ce.c.evidence_id, ev.c.sha256, ev.c.original_name,
                                   ce.c.attached_at, ce.c.attached_by)
                            .join(ev, ev.c.id == ce.c.evidence_id)
                            .where(ce.c.case_id == case_id)
                            .order_by(ce.c.attached_at, ce.c.evidence_id)).all()
    attached = [AttachedEvidence(r.evidence_id, r.sha256, r.original_name, aware(r.attached_at),
                                 r.attached_by) for r in rows]
    events = events_for(engine, case_id=case_id, limit=EVENTS_SHOWN + 1)
    return CaseDetail(case, attached, events[:EVENTS_SHOWN], len(events) > EVENTS_SHOWN)


ATTACH_MAX = 500  # items attached in one request


def attach_evidence(log: CustodyLog, store: ObjectStore, user: User, case_id: str,
                    evidence_id: str, now: datetime | None = None) -> AttachedEvidence:
    """Attach footage to a case and keep it permanently (event ``case:evidence:attached``)."""
    return attach_many(log, store, user, case_id, [evidence_id], now)[0]


def attach_many(log: CustodyLog, store: ObjectStore, user: User, case_id: str,
                evidence_ids: Sequence[str], now: datetime | None = None) -> list[AttachedEvidence]:
    """Attach several items at once, all or nothing: one ``case:evidence:attached`` event per
    item, in one transaction. If any item cannot be attached, none is and the error lists
    every item that cannot, with why (one item alone: its own error)."""
    action = "attach evidence to this case"
    access.require_role(user, access.MANAGE_CASE, action)
    if not evidence_ids or len(evidence_ids) > ATTACH_MAX:
        raise InvalidRequest(msg("attach 1 to {attach_max} items at once, not {evidence_ids_count}",
                                 attach_max=ATTACH_MAX, evidence_ids_count=len(evidence_ids)),
                             hint=msg("split the list"))
    if len(set(evidence_ids)) != len(evidence_ids):
        raise InvalidRequest(msg("an item is listed twice"), hint=msg("list each evidence item once"))
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        case = case_row(conn, case_id)
        access.require_case_access(conn, user, case_id, access.MANAGE_CASE, action)
        rows: list[EvidenceRecord] = []
        problems: list[tuple[str, EvidenceError]] = []
        for evidence_id in evidence_ids:  # every item is checked before anything changes
            try:
                evidence = evidence_row(conn, evidence_id)
                access.require_may_attach(conn, user, case, evidence)
                if _attached(conn, case_id, evidence_id):
                    raise AlreadyExists(msg("evidence {evidence_id} is already attached to case {number}",
                                            evidence_id=evidence_id, number=case.number),
                                        hint=msg("leave it out of the list"))
                rows.append(evidence)
            except (AccessDenied, NotFound, AlreadyExists) as exc:
                problems.append((evidence_id, exc))
        if problems:
            if len(evidence_ids) == 1:
                raise problems[0][1]
            raise BatchRefused(msg("none of the {evidence_ids_count} items was attached to case {number}: "
                                   "{problems_count} cannot be", evidence_ids_count=len(evidence_ids),
                                   number=case.number, problems_count=len(problems)), problems,
                               hint=msg("remove or fix the items listed, then attach again"))
        drafts = []
        for evidence in rows:
            until, extended = retain_permanently(conn, store, evidence, moment)
            conn.execute(insert(tables.case_evidence).values(
                case_id=case_id, evidence_id=evidence.id, attached_at=moment,
                attached_by=user.name))
            drafts.append(EventDraft(EventType.CASE_EVIDENCE_ATTACHED, user.actor,
                                     Subject(evidence.id, evidence.sha256), {
                "case_id": case_id, "case_number": case.number,
                "retention": {"category": CASE, "retain_until": format_time(until)},
                "objects": [copy.ref() for copy in extended]}, moment))
        log.append(drafts, conn)
    return [AttachedEvidence(e.id, e.sha256, e.original_name, moment, user.name) for e in rows]


def detach_evidence(log: CustodyLog, user: User, case_id: str, evidence_id: str,
                    now: datetime | None = None) -> None:
    """Take footage off a case (event ``case:evidence:detached``); its retention stays."""
    action = "detach evidence from this case"
    access.require_role(user, access.MANAGE_CASE, action)
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        case = case_row(conn, case_id)
        access.require_case_access(conn, user, case_id, access.MANAGE_CASE, action)
        evidence = evidence_row(conn, evidence_id)
        if not _attached(conn, case_id, evidence_id):
            raise NotFound(msg("evidence {evidence_id} is not attached to case {number}",
                               evidence_id=evidence_id, number=case.number))
        ce = tables.case_evidence
        conn.execute(delete(ce).where((ce.c.case_id == case_id) & (ce.c.evidence_id == evidence_id)))
        retained: JSON = format_time(aware(evidence.retain_until)) if evidence.retain_until else None
        log.append([EventDraft(EventType.CASE_EVIDENCE_DETACHED, user.actor,
                               Subject(evidence.id, evidence.sha256), {
            "case_id": case_id, "case_number": case.number,
            "retention": {"category": evidence.retention_category, "retain_until": retained,
                          "note": "retention is never shortened"}}, moment)], conn)


def assign_officer(log: CustodyLog, user: User, case_id: str, officer_name: str,
                   now: datetime | None = None) -> Case:
    """Let another case officer manage this case (event ``case:officer:assigned``)."""
    action = "assign officers to this case"
    access.require_role(user, access.MANAGE_CASE, action)
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        case = case_row(conn, case_id)
        access.require_case_access(conn, user, case_id, access.MANAGE_CASE, action)
        target = conn.execute(select(tables.users).where(tables.users.c.name == officer_name)).first()
        # one answer whether the name is unknown, revoked, of another role or another agency:
        # a case officer is not told who exists, nor their role or agency
        if not access.assignable(conn, case, target):
            raise InvalidRequest(
                msg("{officer_name!r} cannot be assigned to case {number}", officer_name=officer_name,
                    number=case.number),
                hint=msg("only an active case officer of the case's agency can be; ask your admin for the "
                         "name of the case officer to assign"))
        co = tables.case_officers
        if conn.execute(select(co.c.case_id).where(
                (co.c.case_id == case_id) & (co.c.user_name == officer_name))).first():
            raise AlreadyExists(msg("{officer_name} already manages case {number}",
                                    officer_name=officer_name, number=case.number))
        conn.execute(insert(co).values(case_id=case_id, user_name=officer_name, assigned_at=moment))
        log.append([EventDraft(EventType.CASE_OFFICER_ASSIGNED, user.actor, None, {
            "case_id": case_id, "case_number": case.number, "officer": officer_name}, moment)], conn)
        return load_case(conn, case_id)


def remove_officer(log: CustodyLog, user: User, case_id: str, officer_name: str,
                   now: datetime | None = None) -> Case:
    """Admins of the case's agency: a case officer no longer manages it (``case:officer:removed``)."""
    action = "remove officers from this case"
    access.require_role(user, access.REMOVE_OFFICER, action)
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        case = case_row(conn, case_id)
        access.require_case_access(conn, user, case_id, access.REMOVE_OFFICER, action)
        co = tables.case_officers
        gone = conn.execute(delete(co).where((co.c.case_id == case_id)
                                             & (co.c.user_name == officer_name)))
        if gone.rowcount == 0:
            raise NotFound(msg("{officer_name} does not manage case {number}", officer_name=officer_name,
                               number=case.number))
        log.append([EventDraft(EventType.CASE_OFFICER_REMOVED, user.actor, None, {
            "case_id": case_id, "case_number": case.number, "officer": officer_name}, moment)], conn)
        return load_case(conn, case_id)


def get_case(engine: Engine, case_id: str) -> Case:
    with engine.connect() as conn:
        return load_case(conn, case_id)


def case_row(conn: Connection, case_id: str) -> Any:
    row = conn.execute(select(tables.cases).where(tables.cases.c.id == case_id)).first()
    if row is None:
        raise NotFound(msg("there is no case {case_id}", case_id=case_id),
                       hint=msg("check the case number in the list of cases"))
    return row


def load_case(conn: Connection, case_id: str) -> Case:
    row = case_row(conn, case_id)
    co, ce = tables.case_officers, tables.case_evidence
    officers = tuple(name for (name,) in conn.execute(
        select(co.c.user_name).where(co.c.case_id == case_id).order_by(co.c.user_name)))
    count = conn.execute(select(func.count()).select_from(ce).where(ce.c.case_id == case_id)
                         ).scalar_one()
    return Case(row.id, row.number, row.title, aware(row.created_at), row.created_by, officers, count,
                row.unit_code,
                aware(row.review_requested_at) if row.review_requested_at is not None else None,
                row.review_requested_by)


def _attached(conn: Connection, case_id: str, evidence_id: str) -> bool:
    ce = tables.case_evidence
    return conn.execute(select(ce.c.case_id).where(
        (ce.c.case_id == case_id) & (ce.c.evidence_id == evidence_id))).first() is not None


def prepare_export(log: CustodyLog, user: User, case_id: str, include_playback: bool,
                   reason: str | None, now: datetime | None = None) -> Case:
    """Check the user may export the case and log the request (``case:bundle:requested``).

    The bundle builder logs what it exported; this event keeps who asked and why.
    """
    action = "export this case"
    access.require_role(user, access.EXPORT_CASE, action)
    reason = clean_optional(reason, msg("reason"), REASON_MAX)
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        case = load_case(conn, case_id)
        access.require_case_access(conn, user, case_id, access.EXPORT_CASE, action)
        log.append([EventDraft(EventType.CASE_BUNDLE_REQUESTED, user.actor, None, {
            "case_id": case_id, "case_number": case.number, "include_playback": include_playback,
            "reason": reason}, moment)], conn)
    return case
