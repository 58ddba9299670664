"""The legal review of major enforcement decisions (重大执法决定法制审核) and its gate.

Flow (each step a custody event naming who did it)::

    materials set ─► submitted ─► opinion ─┬─ pass ──► approved ──► decided
    (draft + cited   (packet,      (checklist) ├─ return ─► new materials, submit again
     items)           one hash)               └─ fail ───► contested ─► principal's ruling

    submitted: every cited item re-hashed, its recording event proven in a signed checkpoint

The gate (``decide``): a major action's decision is recorded only after a passed review of
exactly the packet its draft and materials make now, and the approving head's sign-off.
Changing the draft or a cited item makes another packet: the earlier review no longer counts.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from cases import access, tables
from cases.actions import ActionState, action_row
from cases.case_records import case_row
from cases.custody_index import refresh
from cases.errors import AccessDenied, Conflict, InvalidRequest
from cases.organisation import require_org_admin
from cases.publication import draft_on_decision
from cases.text import REASON_MAX, clean_text
from cases.times import aware
from cases.users import Role, User
from custody.events import EventDraft, decode_event
from custody.log import CustodyLog
from custody.note import Verifier
from custody.proofs import check_inclusion_document
from domain.errors import EvidenceError, NotFound
from domain.event_types import EventType
from domain.messages import msg
from storage import records
from storage.db import write_transaction
from storage.objects import ObjectStore

REVIEW_WORKING_DAYS = 5  # the reviewer's time limit (a later issue: the official holiday calendar)
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


class ReviewError(Conflict):
    """The gate or a step refused because something is missing (HTTP 409; CLI exit 1)."""


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


def add_working_days(start: date, days: int) -> date:
    """``days`` working days after ``start`` (weekends skipped; holidays not yet)."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


# --- the catalogue of major decisions ---------------------------------------------------------

RULE_KEYS = {"kind", "matter_id", "fine_at_least", "licence_revoked", "business_closed",
             "after_hearing"}
MAJOR_KINDS = {"licensing", "penalty", "compulsory", "levy"}


def _check_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for rule in rules:
        if not isinstance(rule, dict) or not set(rule) <= RULE_KEYS \
                or not isinstance(rule.get("kind"), str) or rule["kind"] not in MAJOR_KINDS \
                or not isinstance(rule.get("matter_id", ""), str) \
                or any(not isinstance(rule.get(flag, False), bool)
                       for flag in ("licence_revoked", "business_closed", "after_hearing")):
            raise InvalidRequest(msg("the rule {rule!r} is not allowed", rule=rule),
                                 hint=msg("each rule names a kind of {major_kinds} and optionally {value}",
                                          major_kinds=sorted(MAJOR_KINDS),
                                          value=sorted(RULE_KEYS - {'kind'})))
        fine = rule.get("fine_at_least")
        if fine is not None and (not isinstance(fine, int) or isinstance(fine, bool) or fine < 0):
            raise InvalidRequest(msg("fine_at_least is a whole number of yuan, 0 or more"))
    return rules


def set_catalogue(log: CustodyLog, user: User, agency_code: str, rules: list[dict[str, Any]],
                  now: datetime | None = None) -> int:
    """A new version of the agency's catalogue of major decisions (``org:major-catalogue:set``);
    returns its version number."""
    require_org_admin(user, agency_code, f"edit the major-decision catalogue of {agency_code}")
    rules = _check_rules(rules)
    moment = now or datetime.now(UTC)
    mc = tables.major_catalogues
    with write_transaction(log.engine) as conn:
        version = (conn.execute(select(func.max(mc.c.version)).where(
            mc.c.agency_code == agency_code)).scalar() or 0) + 1
        text = json.dumps(rules, ensure_ascii=False, sort_keys=True)
        conn.execute(insert(mc).values(agency_code=agency_code, version=version, rules=text,
                                       created_at=moment, created_by=user.name))
        log.append([EventDraft(EventType.MAJOR_CATALOGUE_SET, user.actor, None, {
            "agency": agency_code, "version": version, "rules": json.loads(text)}, moment)], conn)
    return version


def _catalogue(conn: Connection, agency_code: str | None) -> tuple[int, list[dict[str, Any]]]:
    mc = tables.major_catalogues
    row = conn.execute(select(mc).where(mc.c.agency_code == agency_code)
                       .order_by(mc.c.version.desc()).limit(1)).first()
    return (0, []) if row is None else (int(row.version), json.loads(row.rules))


def _rule_matches(rule: dict[str, Any], row: Any, facts: dict[str, Any]) -> bool:
    if rule["kind"] != row.kind or rule.get("matter_id") not in (None, row.matter_id):
        return False
    conditions = []
    if rule.get("fine_at_least") is not None:
        conditions.append(int(facts.get("fine") or 0) >= int(rule["fine_at_least"]))
    for flag in ("licence_revoked", "business_closed", "after_hearing"):
        if rule.get(flag):
            conditions.append(bool(facts.get(flag)))
    return any(conditions) if conditions else True


def major_because(conn: Connection, row: Any) -> str | None:
    """Why the action is major (by the catalogue's rule, or by hand), or None."""
    if row.major_reason:
        return f"marked major by hand: {row.major_reason}"
    case = case_row(conn, row.case_id)
    version, rules = _catalogue(conn, access.unit_agency(conn, case.unit_code))
    facts = json.loads(row.facts or "{}")
    for number, rule in enumerate(rules, 1):
        if _rule_matches(rule, row, facts):
            return f"rule {number} of the major-decision catalogue, version {version}"
    return None


def mark_major(log: CustodyLog, user: User, action_id: str, reason: str,
               now: datetime | None = None) -> None:
    """Mark an action major by hand, with the reason (``case:action:marked-major``)."""
    what = "mark this action major"
    reason = clean_text(reason, "reason", REASON_MAX)
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        row = action_row(conn, action_id)
        access.require_case_access(conn, user, row.case_id, access.MANAGE_CASE, what)
        a = tables.enforcement_actions
        conn.execute(update(a).where(a.c.id == action_id).values(major_reason=reason))
        log.append([EventDraft(EventType.ACTION_MARKED_MAJOR, user.actor, None, {
            "case_id": row.case_id, "action_id": action_id, "reason": reason}, moment)], conn)


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
            raise InvalidRequest(msg("items not on the case: {missing}", missing=', '.join(missing)),
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
    return digest


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


def verify_item(log: CustodyLog, store: ObjectStore, verifier: Verifier,
                item: dict[str, Any]) -> str | None:
    """Why a cited item fails (None: it verifies): its stored bytes must hash to the recorded
    hash, and the event recording it must be included in a signed checkpoint."""
    with log.engine.connect() as conn:
        record = records.find(conn, item["evidence_id"])
        seq = conn.execute(select(func.min(tables.custody_subjects.c.seq)).where(
            tables.custody_subjects.c.evidence_id == item["evidence_id"],
            tables.custody_subjects.c.type == EventType.FILE_INGESTED.value)).scalar()
    if record is None or record.sha256 != item["sha256"]:
        return "its catalogue entry no longer matches the listing"
    try:
        stored, _ = store.read_back_sha256(record.object_key, record.object_version)
    except EvidenceError as exc:
        return f"its stored bytes cannot be read ({exc.message})"
    if stored != record.sha256:
        return f"its stored bytes hash to {stored}, not the recorded {record.sha256}"
    if seq is None:
        return "no custody event records it"
    try:
        proof = log.inclusion_proof(int(seq))
        check_inclusion_document(proof.to_json(), verifier)
    except EvidenceError as exc:
        return f"its recording event {seq} is not proven in a signed checkpoint ({exc.message})"
    subject = decode_event(proof.leaf).get("subject") or {}
    if subject.get("sha256") != record.sha256:
        return f"its recording event {seq} names another hash"
    return None


# --- submission, opinion, contest, ruling, approval, decision ---------------------------------

def submit(log: CustodyLog, store: ObjectStore, verifier: Verifier, user: User, action_id: str,
           now: datetime | None = None, working_days: int = REVIEW_WORKING_DAYS) -> Packet:
    """Send the action's draft and materials for review (送审): every cited item must verify;
    what was submitted is frozen as a packet with one hash (``case:review:submitted``)."""
    what = "submit this action for legal review"
    access.require_role(user, access.MANAGE_CASE, what)
    moment = now or datetime.now(UTC)
    with log.engine.connect() as conn:
        row = action_row(conn, action_id)
        access.require_case_access(conn, user, row.case_id, access.MANAGE_CASE, what)
        listing = _listing(conn, row)
    refresh(log.engine)
    log.checkpoint()  # sign what the log holds now: the items' events are proven against it
    failures = [f"{item['evidence_id']}: {why}" for item in [listing["draft"], *listing["cited"]]
                if (why := verify_item(log, store, verifier, item)) is not None]
    if failures:
        raise ReviewError(msg("submission refused: cited items fail verification: {failures}",
                              failures="; ".join(failures)),
                             hint=msg("replace the item with a verified copy, or run `evidence verify "
                                      "--objects` and report the tampering"))
    digest = _hash(listing)
    packet_id = str(uuid.uuid4())
    due = add_working_days(moment.date(), working_days)
    rp, c = tables.review_packets, tables.cases
    with write_transaction(log.engine) as conn:
        row = action_row(conn, action_id)
        if _listing(conn, row) != listing:
            raise ReviewError(msg("the materials changed while they were being verified"),
                              hint=msg("submit again"))
        case = case_row(conn, row.case_id)
        conn.execute(insert(rp).values(
            id=packet_id, action_id=action_id, sha256=digest,
            listing=json.dumps(listing, sort_keys=True, ensure_ascii=False),
            submitted_at=moment, submitted_by=user.name, due=due))
        if case.review_requested_at is None:  # the agency's reviewers may now read the case
            conn.execute(update(c).where(c.c.id == case.id).values(
                review_requested_at=moment, review_requested_by=user.name))
        log.append([EventDraft(EventType.REVIEW_SUBMITTED, user.actor, None, {
            "case_id": row.case_id, "action_id": action_id, "packet_id": packet_id,
            "packet_sha256": digest, "items": 1 + len(listing["cited"]),
            "major": major_because(conn, row), "due": due.isoformat()}, moment)], conn)
        return _packet(conn, packet_id)


def _packet(conn: Connection, packet_id: str) -> Packet:
    rp = tables.review_packets
    r = conn.execute(select(rp).where(rp.c.id == packet_id)).first()
    if r is None:
        raise NotFound(msg("there is no review packet {packet_id}", packet_id=packet_id))
    return Packet(r.id, r.action_id, r.sha256, json.loads(r.listing), aware(r.submitted_at),
                  r.submitted_by, r.due, r.opinion, r.reviewed_by, r.approved_by,
                  r.contested_by is not None, r.ruling)


def _reviewer_scope(conn: Connection, user: User, row: Any, what: str) -> Any:
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
    access.require_role(user, frozenset({Role.REVIEWER}) | ({Role.ADMIN} if user.operator
                                                            else set()), what)
    reasons = clean_text(reasons, "reasons", 4000)
    if set(checklist) != set(CHECKLIST) or any(
            v.get("result") not in ITEM_RESULTS or not set(v) <= {"result", "note"}
            for v in checklist.values()):
        raise InvalidRequest(msg("the checklist needs each of its eight points, each pass, fail or "
                                 "material"), hint=msg("points: {points}", points=", ".join(CHECKLIST)))
    if opinion is Opinion.PASS and any(v["result"] != "pass" for v in checklist.values()):
        raise InvalidRequest(msg("a pass needs every point of the checklist passed"),
                             hint=msg("return it for material, or fail it"))
    moment = now or datetime.now(UTC)
    rp = tables.review_packets
    with write_transaction(log.engine) as conn:
        packet = _packet(conn, packet_id)
        row = action_row(conn, packet.action_id)
        _reviewer_scope(conn, user, row, what)
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
            "overdue": moment.date() > packet.due}, moment)], conn)
        return _packet(conn, packet_id)


def contest(log: CustodyLog, user: User, packet_id: str, reason: str,
            now: datetime | None = None) -> Packet:
    """The handling unit contests an opinion; it goes to the principal (``case:review:contested``)."""
    what = "contest this review opinion"
    reason = clean_text(reason, "reason", REASON_MAX)
    moment = now or datetime.now(UTC)
    rp = tables.review_packets
    with write_transaction(log.engine) as conn:
        packet = _packet(conn, packet_id)
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
        packet = _packet(conn, packet_id)
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
        packet = _packet(conn, packet_id)
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


def gate(conn: Connection, row: Any) -> str | None:
    """What is missing before a major action's decision may be recorded (None: nothing)."""
    because = major_because(conn, row)
    if because is None:
        return None
    try:
        digest = _hash(_listing(conn, row))
    except ReviewError as exc:
        return f"a major decision ({because}) needs a passed legal review: {exc.message}"
    rp = tables.review_packets
    rows = conn.execute(select(rp.c.id).where(rp.c.action_id == row.id, rp.c.sha256 == digest)
                        .order_by(rp.c.submitted_at.desc())).scalars().all()
    packets = [_packet(conn, i) for i in rows]
    if not packets:
        return (f"a major decision ({because}) needs a passed legal review of its current "
                "draft and materials, and none was submitted"
                + (" (an earlier review covered other materials: changing them voided it)"
                   if conn.execute(select(rp.c.id).where(rp.c.action_id == row.id)).first()
                   else "")
                + "; submit them for review")
    passed = [p for p in packets if _passed(p)]
    if not passed:
        latest = packets[0]
        state = latest.opinion or f"waiting for the reviewer (due {latest.due.isoformat()})"
        return (f"a major decision ({because}) needs a passed legal review; the review of the "
                f"current materials is: {state}")
    if not any(p.approved_by for p in passed):
        return "the review passed; the approving head's sign-off is missing"
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
             .join(u, u.c.code == c.c.unit_code).where(rp.c.opinion.is_(None)))
    if not user.operator:
        query = query.where(u.c.agency_code == user.agency_code)
    with engine.connect() as conn:
        ids = conn.execute(query.order_by(rp.c.due, rp.c.submitted_at)).scalars().all()
        return [_packet(conn, i) for i in ids]
