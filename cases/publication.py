"""The publication of enforcement decisions (行政执法公示, the plan's 二(一)3).

A decision's publication record is drafted when the decision is recorded
(``draft_on_decision``, called by ``legal_review.decide`` in its transaction), its text masked
(``cases.masking``: a natural person's name as 张某, an organisation by its name). A person
then checks the masked working copy, edits it if need be (an edit is masked again) and
confirms it; then it is published as version 1. Updating makes a new version with a reason
(the public sees the current one and a correction notice listing the earlier ones); revoking
withdraws it with a reason (the public sees only the revocation notice, since what was
published may be what had to go). Every step is a custody event naming who did it.

Who may: the case officers of the case and the admins of its agency (who may manage the case):
they hold the decision and answer for its deadline, while another unit's officers do not
know the case. Reading a record: whoever may read the case.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, select, update

from cases import access, tables
from cases.actions import ActionKind, PartyKind, action_row
from cases.case_records import case_row
from cases.errors import Conflict, InvalidRequest
from cases.masking import Masked, mask_text
from cases.text import REASON_MAX, clean_text
from cases.times import aware
from cases.users import User
from cases.workdays import add_working_days
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import NotFound
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction

DEADLINE_ZONE = ZoneInfo("Asia/Shanghai")  # deadlines are local calendar dates
SHORT_DEADLINE_KINDS = frozenset({ActionKind.LICENSING.value, ActionKind.PENALTY.value})
SHORT_DEADLINE = 7  # working days: licensing and penalty decisions
LONG_DEADLINE = 20  # working days: every other decision
TEXT_FIELDS = ("party", "conclusion", "legal_basis")  # masked; the document number is not
FIELD_MAX = {"party": 200, "conclusion": 2000, "legal_basis": 2000, "document_number": 100}
DRAFT, REVIEWED, PUBLISHED, REVOKED = "draft", "reviewed", "published", "revoked"


@dataclass(frozen=True)
class Version:
    version: int
    content: dict[str, Any]
    published_at: datetime
    published_by: str
    reason: str | None


@dataclass(frozen=True)
class Publication:
    id: str
    action_id: str
    case_id: str
    case_number: str
    agency_code: str
    unit_code: str
    kind: str
    decision_date: date
    due: date
    due_confirmed: bool
    state: str
    working: dict[str, Any]  # the masked working copy, as the next version would show it
    masked: dict[str, list[dict[str, Any]]]  # per field: what was masked (originals!)
    confirmed_by: str | None
    confirmed_at: datetime | None
    published_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    versions: tuple[Version, ...]

    @property
    def pending_changes(self) -> bool:
        """A published record whose working copy differs from its current version."""
        return bool(self.versions) and self.versions[-1].content != self.working


def deadline_days(kind: str) -> int:
    return SHORT_DEADLINE if kind in SHORT_DEADLINE_KINDS else LONG_DEADLINE


def local_day(moment: datetime) -> date:
    return moment.astimezone(DEADLINE_ZONE).date()


def _spans(masked: Masked) -> list[dict[str, Any]]:
    """What was masked, with where each replacement stands in the masked text (for
    highlighting; None where the masker's output does not line up)."""
    out: list[dict[str, Any]] = []
    delta, last_end = 0, -1
    for span in sorted(masked.spans, key=lambda s: s.start):
        entry: dict[str, Any] = {"kind": span.kind.value, "original": span.original,
                                 "replacement": span.replacement, "at": None}
        if span.start >= last_end:
            start = span.start + delta
            if masked.text[start:start + len(span.replacement)] == span.replacement:
                entry["at"] = [start, start + len(span.replacement)]
            delta += len(span.replacement) - (span.end - span.start)
            last_end = span.end
        out.append(entry)
    return out


def _mask(field: str, value: str, party_kind: str, party_name: str) -> tuple[str, list[Any]]:
    names = (party_name,) if party_kind == PartyKind.PERSON.value else ()
    if field == "party" and party_kind == PartyKind.ORGANISATION.value:
        names = ()
    result = mask_text(value, names=names)
    return result.text, _spans(result)


def _content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _masked_count(masked: dict[str, list[Any]]) -> int:
    return sum(len(spans) for spans in masked.values())


# --- drafting, with the decision ---------------------------------------------------------------

def draft_on_decision(log: CustodyLog, conn: Connection, actor: str, action_id: str,
                      moment: datetime) -> str:
    """The decided action's publication record, drafted and masked in the decision's
    transaction (``case:publication:drafted``); returns its id."""
    row = action_row(conn, action_id)
    case = case_row(conn, row.case_id)
    agency = access.unit_agency(conn, case.unit_code) or ""
    matter = conn.execute(select(tables.enforcement_matters.c.legal_basis).where(
        tables.enforcement_matters.c.id == row.matter_id)).scalar_one()
    decided_on = local_day(moment)
    due = add_working_days(conn, decided_on, deadline_days(row.kind))
    masked: dict[str, list[dict[str, Any]]] = {}
    texts: dict[str, str] = {}
    for field, value in (("party", row.party_name), ("legal_basis", matter)):
        texts[field], masked[field] = _mask(field, value, row.party_kind, row.party_name)
    publication_id = str(uuid.uuid4())
    conn.execute(insert(tables.publications).values(
        id=publication_id, action_id=action_id, case_id=case.id, agency_code=agency,
        unit_code=case.unit_code, kind=row.kind, decision_date=decided_on, due=due.day,
        due_confirmed=due.confirmed, state=DRAFT, party_kind=row.party_kind,
        party=texts["party"], conclusion="", legal_basis=texts["legal_basis"],
        document_number="", masked=json.dumps(masked, ensure_ascii=False), version=0,
        drafted_at=moment, updated_at=moment))
    log.append([EventDraft(EventType.PUBLICATION_DRAFTED, actor, None, {
        "publication_id": publication_id, "action_id": action_id, "case_id": case.id,
        "case_number": case.number, "kind": row.kind, "decision_date": decided_on.isoformat(),
        "due": due.day.isoformat(), "due_confirmed": due.confirmed,
        "masked": _masked_count(masked)}, moment)], conn)
    return publication_id


# --- reading ---------------------------------------------------------------------------------

def _row(conn: Connection, publication_id: str) -> Any:
    p = tables.publications
    row = conn.execute(select(p).where(p.c.id == publication_id)).first()
    if row is None:
        raise NotFound(msg("there is no publication record {publication_id}",
                           publication_id=publication_id),
                       hint=msg("find it on the publication list"))
    return row


def agency_name(conn: Connection, code: str) -> str:
    name = conn.execute(select(tables.agencies.c.name).where(
        tables.agencies.c.code == code)).scalar()
    return str(name or code)


def working_copy(conn: Connection, row: Any) -> dict[str, Any]:
    """What the public would see of the working copy: exactly a version's content."""
    return {"agency": row.agency_code, "agency_name": agency_name(conn, row.agency_code),
            "kind": row.kind, "party_kind": row.party_kind, "party": row.party,
            "conclusion": row.conclusion, "legal_basis": row.legal_basis,
            "decision_date": row.decision_date.isoformat(),
            "document_number": row.document_number}


def versions_of(conn: Connection, publication_id: str) -> tuple[Version, ...]:
    pv = tables.publication_versions
    return tuple(Version(r.version, json.loads(r.content), aware(r.published_at),
                         r.published_by, r.reason)
                 for r in conn.execute(select(pv).where(pv.c.publication_id == publication_id)
                                       .order_by(pv.c.version)))


def load(conn: Connection, publication_id: str) -> Publication:
    row = _row(conn, publication_id)
    number = conn.execute(select(tables.cases.c.number).where(
        tables.cases.c.id == row.case_id)).scalar_one()
    return Publication(
        row.id, row.action_id, row.case_id, number, row.agency_code, row.unit_code, row.kind,
        row.decision_date, row.due, bool(row.due_confirmed), row.state, working_copy(conn, row),
        json.loads(row.masked), row.confirmed_by,
        aware(row.confirmed_at) if row.confirmed_at else None,
        aware(row.published_at) if row.published_at else None,
        aware(row.revoked_at) if row.revoked_at else None, row.revoked_by, row.revoke_reason,
        versions_of(conn, row.id))


def get_publication(engine: Engine, user: User, publication_id: str) -> Publication:
    what = "read this publication record"
    access.require_role(user, access.READ_CASES, what)
    with engine.connect() as conn:
        row = _row(conn, publication_id)
        access.require_case_access(conn, user, row.case_id, access.READ_CASES, what)
        return load(conn, publication_id)


def publication_of_action(engine: Engine, user: User, action_id: str) -> Publication:
    what = "read this action's publication record"
    access.require_role(user, access.READ_CASES, what)
    with engine.connect() as conn:
        row = action_row(conn, action_id)
        access.require_case_access(conn, user, row.case_id, access.READ_CASES, what)
        p = tables.publications
        found = conn.execute(select(p.c.id).where(p.c.action_id == action_id)).scalar()
        if found is None:
            raise NotFound(msg("the action has no publication record: its decision is not "
                               "recorded yet"), hint=msg("record the decision first"))
        return load(conn, str(found))


# --- the person's steps ----------------------------------------------------------------------

def _managed(conn: Connection, user: User, publication_id: str, what: str) -> Any:
    access.require_role(user, access.MANAGE_CASE, what)
    row = _row(conn, publication_id)
    access.require_case_access(conn, user, row.case_id, access.MANAGE_CASE, what)
    if row.state == REVOKED:
        raise Conflict(msg("the publication was revoked; it can no longer change"),
                       hint=msg("a revoked publication stays revoked"))
    return row


def edit(log: CustodyLog, user: User, publication_id: str, changes: dict[str, str],
         now: datetime | None = None) -> Publication:
    """Change the working copy (party, conclusion, legal_basis, document_number); the text is
    masked again and must be confirmed again (``case:publication:edited``)."""
    what = "edit this publication record"
    moment = now or datetime.now(UTC)
    p = tables.publications
    with write_transaction(log.engine) as conn:
        row = _managed(conn, user, publication_id, what)  # a missing record: 404 first
        unknown = set(changes) - {*TEXT_FIELDS, "document_number"}
        if unknown or not changes:
            raise InvalidRequest(msg("nothing to change, or unknown fields {unknown}",
                                     unknown=sorted(unknown)),
                                 hint=msg("change party, conclusion, legal_basis or "
                                          "document_number"))
        action = action_row(conn, row.action_id)
        masked = json.loads(row.masked)
        values: dict[str, Any] = {}
        for field, raw in changes.items():
            text = clean_text(raw, field.replace("_", " "), FIELD_MAX[field])
            if field in TEXT_FIELDS:
                text, masked[field] = _mask(field, text, row.party_kind, action.party_name)
            values[field] = text
        state = DRAFT if row.version == 0 else row.state
        conn.execute(update(p).where(p.c.id == publication_id).values(
            **values, masked=json.dumps(masked, ensure_ascii=False), confirmed_by=None,
            confirmed_at=None, state=state, updated_at=moment))
        after = load(conn, publication_id)
        log.append([EventDraft(EventType.PUBLICATION_EDITED, user.actor, None, {
            "publication_id": publication_id, "case_id": row.case_id,
            "fields": list[Any](sorted(changes)), "masked": _masked_count(masked),
            "content_sha256": _content_hash(after.working)}, moment)], conn)
        return after


def confirm(log: CustodyLog, user: User, publication_id: str,
            now: datetime | None = None) -> Publication:
    """A person confirms the masked working copy as fit to publish
    (``case:publication:confirmed``)."""
    what = "confirm this publication record"
    moment = now or datetime.now(UTC)
    p = tables.publications
    with write_transaction(log.engine) as conn:
        row = _managed(conn, user, publication_id, what)
        missing = [f for f in ("conclusion", "document_number") if not getattr(row, f)]
        if missing:
            raise InvalidRequest(msg("the record lacks: {missing}", missing=", ".join(missing)),
                                 hint=msg("write the decision's conclusion and document number "
                                          "first"))
        content = working_copy(conn, row)
        conn.execute(update(p).where(p.c.id == publication_id).values(
            confirmed_by=user.name, confirmed_at=moment,
            state=REVIEWED if row.version == 0 else row.state, updated_at=moment))
        log.append([EventDraft(EventType.PUBLICATION_CONFIRMED, user.actor, None, {
            "publication_id": publication_id, "case_id": row.case_id,
            "content_sha256": _content_hash(content),
            "masked": _masked_count(json.loads(row.masked))}, moment)], conn)
        return load(conn, publication_id)


def _confirmed_content(conn: Connection, row: Any) -> dict[str, Any]:
    if row.confirmed_by is None:
        raise Conflict(msg("the working copy is not confirmed"),
                       hint=msg("check the masked text and confirm it first"))
    return working_copy(conn, row)


def _add_version(conn: Connection, row: Any, user: User, content: dict[str, Any],
                 moment: datetime, reason: str | None) -> int:
    version = int(row.version) + 1
    pv = tables.publication_versions
    conn.execute(update(pv).where(pv.c.publication_id == row.id).values(live=False))
    conn.execute(insert(tables.publication_versions).values(
        publication_id=row.id, version=version,
        content=json.dumps(content, sort_keys=True, ensure_ascii=False), published_at=moment,
        published_by=user.name, reason=reason, agency_code=row.agency_code, kind=row.kind,
        party=content["party"], decision_date=row.decision_date, live=True))
    return version


def publish(log: CustodyLog, user: User, publication_id: str,
            now: datetime | None = None) -> Publication:
    """Publish the confirmed record as version 1 (``case:publication:published``)."""
    what = "publish this decision"
    moment = now or datetime.now(UTC)
    p = tables.publications
    with write_transaction(log.engine) as conn:
        row = _managed(conn, user, publication_id, what)
        if row.version > 0:
            raise Conflict(msg("the decision is already published"),
                           hint=msg("update it, with a reason, to change what the public sees"))
        content = _confirmed_content(conn, row)
        _add_version(conn, row, user, content, moment, None)
        conn.execute(update(p).where(p.c.id == publication_id).values(
            state=PUBLISHED, version=1, published_at=moment, updated_at=moment,
            public_changed_at=moment))
        on_time = local_day(moment) <= row.due
        log.append([EventDraft(EventType.PUBLICATION_PUBLISHED, user.actor, None, {
            "publication_id": publication_id, "case_id": row.case_id, "version": 1,
            "content": content, "content_sha256": _content_hash(content),
            "due": row.due.isoformat(), "on_time": on_time}, moment)], conn)
        return load(conn, publication_id)


def _reason(conn: Connection, row: Any, reason: str) -> str:
    """The reason as the public will read it: the party's name masked like the record's."""
    party = action_row(conn, row.action_id).party_name
    return _mask("reason", clean_text(reason, "reason", REASON_MAX), row.party_kind, party)[0]


def update_published(log: CustodyLog, user: User, publication_id: str, reason: str,
                     now: datetime | None = None) -> Publication:
    """Publish the confirmed working copy as a new version, with the reason shown in the
    correction notice (``case:publication:updated``)."""
    what = "update this published decision"
    moment = now or datetime.now(UTC)
    p = tables.publications
    with write_transaction(log.engine) as conn:
        row = _managed(conn, user, publication_id, what)
        if row.version == 0:
            raise Conflict(msg("the decision is not published yet"),
                           hint=msg("publish it first"))
        reason = _reason(conn, row, reason)
        content = _confirmed_content(conn, row)
        if content == versions_of(conn, publication_id)[-1].content:
            raise Conflict(msg("the working copy is the same as the published version"),
                           hint=msg("edit the record, confirm it, then update"))
        version = _add_version(conn, row, user, content, moment, reason)
        conn.execute(update(p).where(p.c.id == publication_id).values(
            version=version, updated_at=moment, public_changed_at=moment))
        log.append([EventDraft(EventType.PUBLICATION_UPDATED, user.actor, None, {
            "publication_id": publication_id, "case_id": row.case_id, "version": version,
            "reason": reason, "content": content,
            "content_sha256": _content_hash(content)}, moment)], conn)
        return load(conn, publication_id)


def revoke(log: CustodyLog, user: User, publication_id: str, reason: str,
           now: datetime | None = None) -> Publication:
    """Withdraw a published decision, with the reason; the public sees a revocation notice
    only (``case:publication:revoked``)."""
    what = "revoke this published decision"
    moment = now or datetime.now(UTC)
    p = tables.publications
    with write_transaction(log.engine) as conn:
        row = _managed(conn, user, publication_id, what)
        if row.version == 0:
            raise Conflict(msg("only a published decision can be revoked"),
                           hint=msg("an unpublished record is simply not published"))
        reason = _reason(conn, row, reason)
        conn.execute(update(p).where(p.c.id == publication_id).values(
            state=REVOKED, revoked_at=moment, revoked_by=user.name, revoke_reason=reason,
            updated_at=moment, public_changed_at=moment))
        pv = tables.publication_versions
        conn.execute(update(pv).where(pv.c.publication_id == publication_id).values(live=False))
        log.append([EventDraft(EventType.PUBLICATION_REVOKED, user.actor, None, {
            "publication_id": publication_id, "case_id": row.case_id,
            "version": int(row.version), "reason": reason}, moment)], conn)
        return load(conn, publication_id)
