"""The legal review of major enforcement decisions (重大执法决定法制审核) and its gate.

Flow (each step a custody event naming who did it)::

    materials set ─► submitted ─► opinion ─┬─ pass ──► approved ──► decided ──► served
    (draft + cited   (packet,      (checklist, ├─ return ─► new materials, submit again
     items)           one hash)    advice)     └─ fail ───► contested ─► principal's ruling
         │
         └─ changed after a submission: that packet is void for good (case:review:voided)

    submitted: the kind's required materials present (cases/review_materials.py); every
    cited item re-hashed, its recording event proven in a signed checkpoint (a witnessed
    log: one the witnesses' quorum cosigned; cases/packet_checks.py)

The gate (``decide``): a major action's decision is recorded only after a passed review of
exactly the packet its draft and materials make now, and the approving head's sign-off.
Any change to the draft or the materials after a submission voids that packet for good,
with its opinion and approval: going back to the same materials needs a new submission.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from cases import access, tables
from cases.actions import ActionState, action_row
from cases.case_records import case_row
from cases.errors import AccessDenied, InvalidRequest
from cases.major_catalogue import major_because
from cases.major_catalogue import mark_major as mark_major
from cases.major_catalogue import set_catalogue as set_catalogue
from cases.organisation import require_org_admin
from cases.packet_checks import ReviewError, check_cited
from cases.publication import draft_on_decision
from cases.review_materials import require_materials
from cases.text import REASON_MAX, clean_text
from cases.times import aware, local_day
from cases.users import Role, User
from cases.workdays import add_working_days
from custody.cosigned import WitnessQuorum
from custody.events import EventDraft
from custody.log import CustodyLog
from custody.note import Verifier
from domain.errors import NotFound
from domain.event_types import EventType
from domain.messages import Message, msg
from domain.messages import listing as words
from storage import records
from storage.db import write_transaction
from storage.objects import ObjectStore

REVIEW_WORKING_DAYS = 5  # the reviewer's time limit, working days on the official calendar
CHECKLIST = (  # the plan's eight points, in its order
    "enforcing_body_lawful",  # 执法主体是否合法
    "officers_qualified",  # 执法人员是否具备执法资格
    "procedure_lawful",  # 执法程序是否合法
    "facts_and_evidence",  # 案件事实是否清楚，证据是否合法充分
    "law_and_discretion",  # 适用法律是否准确，裁量基准运用是否适当
    "within_authority",  # 是否超越职权或滥用职权
    "documents_in_order",  # 执法文书是否完备、规范
    "possible_crime",  # 是否涉嫌犯罪需要移送司法机关
)
ITEM_RESULTS = ("pass", "fail", "material")


class Opinion(StrEnum):
    PASS = "pass"  # noqa: S105 (an opinion, not a secret)
    FAIL = "fail"
    RETURN = "return"  # return for more material


__all__ = ["ReviewError"]  # raised here, defined with the checks it shares


@dataclass(frozen=True)
class Packet:
    id: str
    action_id: str
    sha256: str
    listing: dict[str, Any]
    submitted_at: datetime
    submitted_by: str
    due: date
    opinion: str | None
    reviewed_by: str | None
    approved_by: str | None
    contested: bool
    ruling: str | None
    due_confirmed: bool = False  # every working day counted is on a known official calendar
    voided_at: datetime | None = None  # the materials changed after the submission
    voided_reason: str | None = None

    def overdue(self, today: date) -> bool:
        """Waiting for an opinion past its due date (``today``: the Asia/Shanghai date)."""
        return self.opinion is None and self.voided_at is None and today > self.due


# --- materials, and the packet they make ------------------------------------------------------

def set_materials(log: CustodyLog, user: User, action_id: str, draft_id: str,
                  cited: list[str], facts: dict[str, Any], now: datetime | None = None) -> str:
    """The draft decision (a document on the case), the items it relies on (documents and
    footage on the case) and its facts (fine in yuan, licence_revoked, business_closed,
    after_hearing); replaces the earlier ones (``case:action:materials-set``). Returns the
    hash of the packet they make."""
    what = "set this action's draft and materials"
    if len(set(cited)) != len(cited) or draft_id in cited:
        raise InvalidRequest(msg("an item is cited twice"), hint=msg("cite each item once"))
    unknown = set(facts) - {"fine", "licence_revoked", "business_closed", "after_hearing"}
    if unknown:
        raise InvalidRequest(msg("unknown facts {unknown}", unknown=sorted(unknown)),
                             hint=msg("facts: fine, licence_revoked, business_closed, after_hearing"))
    moment = now or datetime.now(UTC)
    am, ce, cd = tables.action_materials, tables.case_evidence, tables.case_documents
    with write_transaction(log.engine) as conn:
        row = action_row(conn, action_id)
        access.require_case_access(conn, user, row.case_id, access.MANAGE_CASE, what)
        if row.state != ActionState.DRAFT.value:
            raise ReviewError(msg("the decision is recorded; its materials can no longer change"))
        if conn.execute(select(cd.c.evidence_id).where(
                cd.c.case_id == row.case_id, cd.c.evidence_id == draft_id)).first() is None:
            raise InvalidRequest(msg("{draft_id} is no document of this case", draft_id=draft_id),
                                 hint=msg("add the draft decision to the case as a document first"))
        on_case = set(conn.execute(select(ce.c.evidence_id).where(
            ce.c.case_id == row.case_id)).scalars())
        missing = [i for i in cited if i not in on_case]
        if missing:
            raise InvalidRequest(msg("items not on the case: {missing}", missing=words(missing)),
                                 hint=msg("attach the footage or add the document to the case first"))
        conn.execute(delete(am).where(am.c.action_id == action_id))
        for position, evidence_id in enumerate([draft_id, *cited]):
            conn.execute(insert(am).values(action_id=action_id, evidence_id=evidence_id,
                                           position=position))
        a = tables.enforcement_actions
        conn.execute(update(a).where(a.c.id == action_id).values(
            facts=json.dumps(facts, sort_keys=True)))
        listing = _listing(conn, action_row(conn, action_id))
        digest = _hash(listing)
        log.append([EventDraft(EventType.ACTION_MATERIALS_SET, user.actor, None, {
            "case_id": row.case_id, "action_id": action_id, "packet_sha256": digest,
            "draft": listing["draft"], "cited": listing["cited"], "facts": facts}, moment)],
            conn)
        _void_others(log, conn, user, row, digest, moment)
    return digest


def _void_others(log: CustodyLog, conn: Connection, user: User, row: Any, digest: str,
                 moment: datetime) -> None:
    """Every live packet of other materials than ``digest`` is void for good
    (``case:review:voided``): a review covers the materials as submitted, never again once
    they changed, even back to the same ones."""
    rp = tables.review_packets
    for packet_id, old in conn.execute(select(rp.c.id, rp.c.sha256).where(
            rp.c.action_id == row.id, rp.c.voided_at.is_(None), rp.c.sha256 != digest)).all():
        reason = f"the draft or materials changed after the submission (now packet {digest})"
        conn.execute(update(rp).where(rp.c.id == packet_id).values(
            voided_at=moment, voided_reason=reason))
        log.append([EventDraft(EventType.REVIEW_VOIDED, user.actor, None, {
            "case_id": row.case_id, "action_id": row.id, "packet_id": packet_id,
            "packet_sha256": old, "new_packet_sha256": digest, "reason": reason}, moment)],
            conn)


def _listing(conn: Connection, row: Any) -> dict[str, Any]:
    """The canonical listing of what a submission holds now (what the packet hash covers)."""
    am = tables.action_materials
    items = []
    for evidence_id in conn.execute(select(am.c.evidence_id).where(am.c.action_id == row.id)
                                    .order_by(am.c.position)).scalars():
        record = records.find(conn, evidence_id)
        assert record is not None
        items.append({"evidence_id": evidence_id, "sha256": record.sha256, "size": record.size})
    if not items:
        raise ReviewError(msg("the action has no draft decision yet"),
                          hint=msg("set its draft decision and cited materials first"))
    return {"action_id": row.id, "case_id": row.case_id, "kind": row.kind,
            "matter_id": row.matter_id, "facts": json.loads(row.facts or "{}"),
            "draft": items[0], "cited": items[1:]}


def _hash(listing: dict[str, Any]) -> str:
    canonical = json.dumps(listing, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- submission, opinion, contest, ruling, approval, decision ---------------------------------

def submit(log: CustodyLog, store: ObjectStore, verifier: Verifier, user: User, action_id: str,
           now: datetime | None = None, working_days: int = REVIEW_WORKING_DAYS,
           witnesses: WitnessQuorum | None = None) -> Packet:
    """Send the action's draft and materials for review (送审): the materials its kind
    requires must be there and every cited item must verify (``witnesses``: a witnessed
    log's quorum must have cosigned their events); what was submitted is frozen as a packet
    with one hash (``case:review:submitted``), due ``working_days`` working days later."""
    what = "submit this action for legal review"
    access.require_role(user, access.MANAGE_CASE, what)
    moment = now or datetime.now(UTC)
    with log.engine.connect() as conn:
        row = action_row(conn, action_id)
        access.require_case_access(conn, user, row.case_id, access.MANAGE_CASE, what)
        listing = _listing(conn, row)
        require_materials(conn, access.unit_agency(conn, case_row(conn, row.case_id).unit_code),
                          listing)
    check_cited(log, store, verifier, [listing["draft"], *listing["cited"]], witnesses)
    digest = _hash(listing)
    packet_id = str(uuid.uuid4())
    rp, c = tables.review_packets, tables.cases
    with write_transaction(log.engine) as conn:
        due = add_working_days(conn, local_day(moment), working_days)
        row = action_row(conn, action_id)
        if _listing(conn, row) != listing:
            raise ReviewError(msg("the materials changed while they were being verified"),
                              hint=msg("submit again"))
        case = case_row(conn, row.case_id)
        conn.execute(insert(rp).values(
            id=packet_id, action_id=action_id, sha256=digest,
            listing=json.dumps(listing, sort_keys=True, ensure_ascii=False),
            submitted_at=moment, submitted_by=user.name, due=due.day,
            due_confirmed=due.confirmed))
        if case.review_requested_at is None:  # the agency's reviewers may now read the case
            conn.execute(update(c).where(c.c.id == case.id).values(
                review_requested_at=moment, review_requested_by=user.name))
        log.append([EventDraft(EventType.REVIEW_SUBMITTED, user.actor, None, {
            "case_id": row.case_id, "action_id": action_id, "packet_id": packet_id,
            "packet_sha256": digest, "items": 1 + len(listing["cited"]),
            "major": major_because(conn, row), "due": due.day.isoformat(),
            "due_confirmed": due.confirmed}, moment)], conn)
        return _packet(conn, packet_id)


def _packet(conn: Connection, packet_id: str) -> Packet:
    rp = tables.review_packets
    r = conn.execute(select(rp).where(rp.c.id == packet_id)).first()
    if r is None:
        raise NotFound(msg("there is no review packet {packet_id}", packet_id=packet_id))
    return Packet(r.id, r.action_id, r.sha256, json.loads(r.listing), aware(r.submitted_at),
                  r.submitted_by, r.due, r.opinion, r.reviewed_by, r.approved_by,
                  r.contested_by is not None, r.ruling, bool(r.due_confirmed),
                  aware(r.voided_at) if r.voided_at is not None else None, r.voided_reason)


read_packet = _packet  # the packet as stored, void or not (its bundle: cases/packet_bundle.py)


def live_packet(conn: Connection, packet_id: str) -> Packet:
    """The packet, refused (ReviewError) once void: nothing more is done on it."""
    packet = _packet(conn, packet_id)
    if packet.voided_at is not None:
        raise ReviewError(msg("this packet was voided on {day}: {reason}",
                              day=local_day(packet.voided_at).isoformat(),
                              reason=packet.voided_reason),
                          hint=msg("submit the action's current materials for review again"))
    return packet


def require_reviewer(user: User, what: str) -> None:
    """A legal reviewer (the operator too)."""
    access.require_role(user, frozenset({Role.REVIEWER}) | ({Role.ADMIN} if user.operator
                                                            else set()), what)


def reviewer_scope(conn: Connection, user: User, row: Any, what: str) -> Any:
    """The action's case, refused unless ``user`` is of the agency the case belongs to."""
    case = case_row(conn, row.case_id)
    agency = access.unit_agency(conn, case.unit_code)
    if not user.operator and user.agency_code != agency:
        raise AccessDenied(msg("{user} may not {what}: the case belongs to agency {agency}", user=user.name,
                               what=what, agency=agency),
                           hint=msg("a {reviewer} of agency {agency} can", reviewer=Role.REVIEWER.value,
                                    agency=agency))
    return case


def record_opinion(log: CustodyLog, user: User, packet_id: str, opinion: Opinion, reasons: str,
                   checklist: dict[str, dict[str, str]], now: datetime | None = None) -> Packet:
    """The reviewer's checklist and opinion on a packet (``case:review:opinion``)."""
    what = "give a legal-review opinion"
    require_reviewer(user, what)
    reasons = clean_text(reasons, "reasons", 4000)
    if set(checklist) != set(CHECKLIST) or any(
            v.get("result") not in ITEM_RESULTS or not set(v) <= {"result", "note"}
            for v in checklist.values()):
        raise InvalidRequest(msg("the checklist needs each of its eight points, each pass, fail or "
                                 "material"), hint=msg("points: {points}", points=words(CHECKLIST)))
    if opinion is Opinion.PASS and any(v["result"] != "pass" for v in checklist.values()):
        raise InvalidRequest(msg("a pass needs every point of the checklist passed"),
                             hint=msg("return it for material, or fail it"))
    moment = now or datetime.now(UTC)
    rp = tables.review_packets
    with write_transaction(log.engine) as conn:
        packet = live_packet(conn, packet_id)
        row = action_row(conn, packet.action_id)
        reviewer_scope(conn, user, row, what)
        if packet.opinion is not None:
            raise ReviewError(msg("the packet already has the opinion {opinion}", opinion=packet.opinion),
                              hint=msg("a new submission gets a new review"))
        conn.execute(update(rp).where(rp.c.id == packet_id).values(
            opinion=opinion.value, reasons=reasons, reviewed_by=user.name, reviewed_at=moment,
            checklist=json.dumps(checklist, sort_keys=True, ensure_ascii=False)))
        log.append([EventDraft(EventType.REVIEW_OPINION, user.actor, None, {
            "case_id": row.case_id, "action_id": row.id, "packet_id": packet_id,
            "packet_sha256": packet.sha256, "opinion": opinion.value, "reasons": reasons,
            "checklist": {k: dict(v) for k, v in checklist.items()},
            "overdue": local_day(moment) > packet.due}, moment)], conn)
        return _packet(conn, packet_id)


def contest(log: CustodyLog, user: User, packet_id: str, reason: str,
            now: datetime | None = None) -> Packet:
    """The handling unit contests an opinion; it goes to the principal (``case:review:contested``)."""
    what = "contest this review opinion"
    reason = clean_text(reason, "reason", REASON_MAX)
    moment = now or datetime.now(UTC)
    rp = tables.review_packets
    with write_transaction(log.engine) as conn:
        packet = live_packet(conn, packet_id)
        row = action_row(conn, packet.action_id)
        access.require_case_access(conn, user, row.case_id, access.MANAGE_CASE, what)
        if packet.opinion in (None, Opinion.PASS.value) or packet.contested:
            raise ReviewError(msg("only a fail or a return can be contested, once"),
                              hint=msg("wait for the opinion"))
        conn.execute(update(rp).where(rp.c.id == packet_id).values(
            contested_by=user.name, contest_reason=reason))
        log.append([EventDraft(EventType.REVIEW_CONTESTED, user.actor, None, {
            "case_id": row.case_id, "action_id": row.id, "packet_id": packet_id,
            "reason": reason}, moment)], conn)
        return _packet(conn, packet_id)


def rule(log: CustodyLog, user: User, packet_id: str, upheld: bool, reason: str,
         now: datetime | None = None) -> Packet:
    """The agency's principal (主要负责人; an admin of the agency) rules on a contest
    (``case:review:ruled``): upheld keeps the opinion, overturned counts as a pass."""
    reason = clean_text(reason, "reason", REASON_MAX)
    moment = now or datetime.now(UTC)
    rp = tables.review_packets
    with write_transaction(log.engine) as conn:
        packet = live_packet(conn, packet_id)
        row = action_row(conn, packet.action_id)
        agency = access.unit_agency(conn, case_row(conn, row.case_id).unit_code)
        require_org_admin(user, agency or "", "rule on a contested review")
        if not packet.contested or packet.ruling is not None:
            raise ReviewError(msg("there is no open contest on this packet"))
        ruling = "upheld" if upheld else "overturned"
        conn.execute(update(rp).where(rp.c.id == packet_id).values(
            ruling=ruling, ruled_by=user.name, ruling_reason=reason))
        log.append([EventDraft(EventType.REVIEW_RULED, user.actor, None, {
            "case_id": row.case_id, "action_id": row.id, "packet_id": packet_id,
            "ruling": ruling, "reason": reason}, moment)], conn)
        return _packet(conn, packet_id)


def _passed(packet: Packet) -> bool:
    return packet.opinion == Opinion.PASS.value or (
        packet.opinion is not None and packet.ruling == "overturned")


def approve(log: CustodyLog, user: User, packet_id: str, now: datetime | None = None) -> Packet:
    """The approving head's sign-off on a passed review (``case:review:approved``); an admin
    of the case's agency."""
    moment = now or datetime.now(UTC)
    rp = tables.review_packets
    with write_transaction(log.engine) as conn:
        packet = live_packet(conn, packet_id)
        row = action_row(conn, packet.action_id)
        agency = access.unit_agency(conn, case_row(conn, row.case_id).unit_code)
        require_org_admin(user, agency or "", "approve a reviewed decision")
        if not _passed(packet):
            raise ReviewError(msg("only a passed review can be approved"),
                              hint=msg("the review's opinion is {value}",
                                       value=packet.opinion or 'not given yet'))
        if packet.approved_by is not None:
            raise ReviewError(msg("already approved by {approved_by}", approved_by=packet.approved_by))
        conn.execute(update(rp).where(rp.c.id == packet_id).values(
            approved_by=user.name, approved_at=moment))
        log.append([EventDraft(EventType.REVIEW_APPROVED, user.actor, None, {
            "case_id": row.case_id, "action_id": row.id, "packet_id": packet_id,
            "packet_sha256": packet.sha256}, moment)], conn)
        return _packet(conn, packet_id)


def gate(conn: Connection, row: Any) -> Message | None:
    """What is missing before a major action's decision may be recorded (None: nothing)."""
    because = major_because(conn, row)
    if because is None:
        return None
    try:
        digest = _hash(_listing(conn, row))
    except ReviewError as exc:
        return msg("a major decision ({because}) needs a passed legal review: {missing}",
                   because=because, missing=exc.message)
    rp = tables.review_packets
    rows = conn.execute(select(rp.c.id).where(rp.c.action_id == row.id, rp.c.sha256 == digest,
                                              rp.c.voided_at.is_(None))
                        .order_by(rp.c.submitted_at.desc())).scalars().all()
    packets = [_packet(conn, i) for i in rows]
    if not packets:
        if conn.execute(select(rp.c.id).where(rp.c.action_id == row.id)).first():
            return msg("a major decision ({because}) needs a passed legal review of its current "
                       "draft and materials, and none was submitted since they last changed (an "
                       "earlier review covered the materials as they were then: changing them "
                       "voided it); submit them for review", because=because)
        return msg("a major decision ({because}) needs a passed legal review of its current "
                   "draft and materials, and none was submitted; submit them for review",
                   because=because)
    passed = [p for p in packets if _passed(p)]
    if not passed:
        latest = packets[0]
        if latest.opinion is None:
            return msg("a major decision ({because}) needs a passed legal review; the review of "
                       "the current materials is: waiting for the reviewer (due {due})",
                       because=because, due=latest.due.isoformat())
        if latest.opinion == Opinion.RETURN.value:
            return msg("a major decision ({because}) needs a passed legal review; the review of "
                       "the current materials is: return", because=because)
        if latest.opinion == Opinion.FAIL.value:
            return msg("a major decision ({because}) needs a passed legal review; the review of "
                       "the current materials is: fail", because=because)
        return msg("a major decision ({because}) needs a passed legal review; the review of the "
                   "current materials is: {opinion}", because=because, opinion=latest.opinion)
    if not any(p.approved_by for p in passed):
        return msg("the review passed; the approving head's sign-off is missing")
    return None


def decide(log: CustodyLog, user: User, action_id: str, now: datetime | None = None) -> None:
    """Record the action's decision (``case:action:decided``). A major action passes the gate
    first: refused (409, CLI exit 1) with what is missing."""
    what = "record this action's decision"
    moment = now or datetime.now(UTC)
    a = tables.enforcement_actions
    with write_transaction(log.engine) as conn:
        row = action_row(conn, action_id)
        access.require_case_access(conn, user, row.case_id, access.MANAGE_CASE, what)
        if row.state != ActionState.DRAFT.value:
            raise ReviewError(msg("the decision is already recorded"))
        missing = gate(conn, row)
        if missing is not None:
            raise ReviewError(msg("the decision cannot be recorded: {missing}", missing=missing),
                              hint=msg("see the action's review steps"))
        listing = _listing(conn, row)
        conn.execute(update(a).where(a.c.id == action_id).values(
            state=ActionState.DECIDED.value))
        log.append([EventDraft(EventType.ACTION_DECIDED, user.actor, None, {
            "case_id": row.case_id, "action_id": action_id, "packet_sha256": _hash(listing),
            "decision": listing["draft"], "major": major_because(conn, row)}, moment)], conn)
        draft_on_decision(log, conn, user.actor, action_id, moment)  # 公示: due from today


def packets_of(engine: Engine, user: User, action_id: str) -> list[Packet]:
    what = "read this action's reviews"
    with engine.connect() as conn:
        row = action_row(conn, action_id)
        access.require_case_access(conn, user, row.case_id, access.READ_CASES, what)
        rp = tables.review_packets
        ids = conn.execute(select(rp.c.id).where(rp.c.action_id == action_id)
                           .order_by(rp.c.submitted_at)).scalars().all()
        return [_packet(conn, i) for i in ids]


def review_queue_of(engine: Engine, user: User) -> list[Packet]:
    """A reviewer's queue: their agency's packets waiting for an opinion, earliest due first
    (the operator: every agency's)."""
    access.require_role(user, frozenset({Role.REVIEWER}) | ({Role.ADMIN} if user.operator
                                                            else set()), "see the review queue")
    rp, a, c, u = (tables.review_packets, tables.enforcement_actions, tables.cases,
                   tables.units)
    query = (select(rp.c.id).join(a, a.c.id == rp.c.action_id).join(c, c.c.id == a.c.case_id)
             .join(u, u.c.code == c.c.unit_code).where(rp.c.opinion.is_(None),
                                                       rp.c.voided_at.is_(None)))
    if not user.operator:
        query = query.where(u.c.agency_code == user.agency_code)
    with engine.connect() as conn:
        ids = conn.execute(query.order_by(rp.c.due, rp.c.submitted_at)).scalars().all()
        return [_packet(conn, i) for i in ids]
