"""What the legal-review pages read (cases/legal_review.py does the steps themselves).

- ``action_review``: one action as its handling officer follows it: why it is major, its
  draft and cited items by name, its steps as the custody log has them (who, when), its
  packets, and what blocks the next step (the gate's own words).
- ``packet_view``: one submitted packet with its items named, its checklist and opinion,
  for the reviewer's checklist form.
- ``approvals_of``: the approving head's list: passed reviews of the current materials
  waiting for sign-off, and contests waiting for the principal's ruling.

Who may read: an action and a packet go with reading the case; the head's list with being
an admin (of the agency whose packets it lists).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select

from cases import access, tables
from cases.actions import Action, ActionState, action_row, load_action
from cases.case_records import case_row
from cases.custody_index import logged_event, refresh
from cases.errors import AccessDenied
from cases.legal_review import (
    Opinion,
    Packet,
    ReviewError,
    _hash,
    _listing,
    _packet,
    _passed,
    gate,
)
from cases.major_catalogue import major_because
from cases.times import aware
from cases.users import Role, User
from custody import schema
from custody.verify_scan import as_bytes
from domain.messages import Message, msg, plain
from storage import catalog

STEP_PREFIXES = ("case:action:", "case:review:")
STEP_DETAILS = ("packet_id", "packet_sha256", "opinion", "reasons", "ruling", "reason", "due",
                "officers", "items")  # what the timeline shows of an event's details


@dataclass(frozen=True)
class Item:
    """A draft decision or a cited item, by name (``document_kind`` None: footage)."""

    evidence_id: str
    name: str | None  # None: not in the catalogue any more
    media_kind: str | None
    document_kind: str | None
    sha256: str
    size: int | None


@dataclass(frozen=True)
class Step:
    seq: int
    type: str
    actor: str
    time: datetime
    details: dict[str, Any]


@dataclass(frozen=True)
class ActionReview:
    action: Action
    case_number: str
    major: Message | None
    facts: dict[str, Any]
    draft: Item | None
    cited: list[Item]
    packet_sha256: str | None  # the hash the current materials make
    blocking: Message | None  # what the gate says is missing (None: the decision may be recorded)
    steps: list[Step]
    packets: list[Packet]


@dataclass(frozen=True)
class PacketView:
    packet: Packet
    action: Action
    case_number: str
    case_title: str
    draft: Item
    cited: list[Item]
    facts: dict[str, Any]
    reasons: str | None
    checklist: dict[str, dict[str, str]] | None
    reviewed_at: datetime | None
    contest_reason: str | None
    contested_by: str | None
    ruling_reason: str | None
    current: bool  # the action's materials still make this packet's hash


def _items(conn: Connection, case_id: str, listed: list[dict[str, Any]]) -> list[Item]:
    ev, cd = catalog.evidence, tables.case_documents
    ids = [i["evidence_id"] for i in listed]
    names = {r.id: r for r in conn.execute(select(ev.c.id, ev.c.original_name, ev.c.kind)
                                           .where(ev.c.id.in_(ids)))} if ids else {}
    kinds = dict(conn.execute(select(cd.c.evidence_id, cd.c.kind).where(
        cd.c.case_id == case_id, cd.c.evidence_id.in_(ids))).all()) if ids else {}
    out = []
    for i in listed:
        row = names.get(i["evidence_id"])
        out.append(Item(i["evidence_id"], row.original_name if row else None,
                        row.kind if row else None, kinds.get(i["evidence_id"]), i["sha256"],
                        i.get("size")))
    return out


def _steps(engine: Engine, case_id: str, action_id: str) -> list[Step]:
    """The action's steps, found through the index (by case and type: a busy case's footage
    events do not crowd them out) and read from the entries themselves."""
    refresh(engine)
    subjects, entries = tables.custody_subjects, schema.entries
    kind = func.coalesce(subjects.c.type, "")
    with engine.connect() as conn:
        rows = conn.execute(
            select(entries.c.seq, entries.c.leaf)
            .join(subjects, subjects.c.seq == entries.c.seq)
            .where(subjects.c.case_id == case_id,
                   or_(*(kind.startswith(prefix) for prefix in STEP_PREFIXES)))
            .order_by(entries.c.seq)).all()
    steps = []
    for seq, leaf in rows:
        event = logged_event(int(seq), as_bytes(leaf)).event
        if event is None or not str(event.get("type", "")).startswith(STEP_PREFIXES):
            continue
        details = event.get("details") or {}
        if details.get("action_id") != action_id:
            continue
        steps.append(Step(int(seq), event["type"], event["actor"],
                          datetime.fromisoformat(event["time"].replace("Z", "+00:00")),
                          {k: details[k] for k in STEP_DETAILS if k in details}))
    return steps


def action_review(engine: Engine, user: User, action_id: str) -> ActionReview:
    """The action, its materials and steps, and what blocks its next step."""
    what = msg("read this action's legal review")
    access.require_role(user, access.READ_CASES, what)
    with engine.connect() as conn:
        row = action_row(conn, action_id)
        access.require_case_access(conn, user, row.case_id, access.READ_CASES, what)
        action = load_action(conn, action_id)
        case = case_row(conn, row.case_id)
        try:
            listing: dict[str, Any] | None = _listing(conn, row)
        except ReviewError:
            listing = None
        items = _items(conn, row.case_id, [listing["draft"], *listing["cited"]]) if listing else []
        blocking = None if row.state != ActionState.DRAFT.value else gate(conn, row)
        rp = tables.review_packets
        packets = [_packet(conn, i) for i in conn.execute(
            select(rp.c.id).where(rp.c.action_id == action_id)
            .order_by(rp.c.submitted_at)).scalars()]
        major = major_because(conn, row)
    return ActionReview(action, case.number, _words(major), json.loads(row.facts or "{}"),
                        items[0] if items else None, items[1:],
                        _hash(listing) if listing else None, _words(blocking),
                        _steps(engine, row.case_id, action_id), packets)


def _words(text: str | None) -> Message | None:
    """The gate's words as a ``Message`` (translated where it made one)."""
    return None if text is None else plain(text)


def packet_view(engine: Engine, user: User, packet_id: str) -> PacketView:
    """One packet, its items named, with its checklist and opinion once given."""
    what = msg("read this review packet")
    access.require_role(user, access.READ_CASES, what)
    rp = tables.review_packets
    with engine.connect() as conn:
        packet = _packet(conn, packet_id)
        row = action_row(conn, packet.action_id)
        access.require_case_access(conn, user, row.case_id, access.READ_CASES, what)
        r = conn.execute(select(rp).where(rp.c.id == packet_id)).one()
        case = case_row(conn, row.case_id)
        listing = packet.listing
        items = _items(conn, row.case_id, [listing["draft"], *listing["cited"]])
        try:
            current = _hash(_listing(conn, row)) == packet.sha256
        except ReviewError:
            current = False
        return PacketView(packet, load_action(conn, row.id), case.number, case.title, items[0],
                          items[1:], dict(listing.get("facts") or {}), r.reasons,
                          json.loads(r.checklist) if r.checklist else None,
                          aware(r.reviewed_at) if r.reviewed_at else None, r.contest_reason,
                          r.contested_by, r.ruling_reason, current)


@dataclass(frozen=True)
class Approvals:
    to_approve: list[PacketView]  # passed, of the current materials, not yet signed off
    to_rule: list[PacketView]  # contested, no ruling yet


def approvals_of(engine: Engine, user: User) -> Approvals:
    """The approving head's (and principal's) list: an admin's own agency (the operator:
    every agency), oldest submission first."""
    if not user.operator and user.role is not Role.ADMIN:
        raise AccessDenied(msg("{user} may not see the approvals waiting: only the agency's "
                               "approving head (an admin) signs off reviews", user=user.name),
                           hint=msg("an admin of the agency can"))
    rp, a, c, u = tables.review_packets, tables.enforcement_actions, tables.cases, tables.units
    query = (select(rp.c.id).join(a, a.c.id == rp.c.action_id).join(c, c.c.id == a.c.case_id)
             .join(u, u.c.code == c.c.unit_code)
             .where(a.c.state == ActionState.DRAFT.value, rp.c.opinion.is_not(None),
                    rp.c.approved_by.is_(None) | (rp.c.contested_by.is_not(None)
                                                  & rp.c.ruling.is_(None))))
    if not user.operator:
        query = query.where(u.c.agency_code == user.agency_code)
    with engine.connect() as conn:
        ids = conn.execute(query.order_by(rp.c.submitted_at, rp.c.id)).scalars().all()
    views = [packet_view(engine, user, i) for i in ids]
    return Approvals(
        [v for v in views if _passed(v.packet) and v.packet.approved_by is None and v.current],
        [v for v in views if v.packet.contested and v.packet.ruling is None
         and v.packet.opinion != Opinion.PASS.value])
