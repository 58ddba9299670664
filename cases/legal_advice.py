"""A legal adviser's or government lawyer's opinion (法律顾问/公职律师意见) on a packet under
review: the reviewer asks for it, then records who gave it, what it says and when, each a
custody event. Shown with the packet; the reviewer's own opinion stays the review's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import Engine, insert, select, update

from cases import tables
from cases.actions import action_row
from cases.errors import InvalidRequest
from cases.legal_review import Packet, live_packet, require_reviewer, reviewer_scope
from cases.packet_checks import ReviewError
from cases.text import clean_text
from cases.times import aware, local_day
from cases.users import User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import NotFound
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction

TEXT_MAX = 4000


class AdviserKind(StrEnum):
    LEGAL_ADVISER = "legal_adviser"  # 法律顾问
    GOVERNMENT_LAWYER = "government_lawyer"  # 公职律师


@dataclass(frozen=True)
class Advice:
    id: str
    packet_id: str
    adviser_kind: AdviserKind
    question: str
    requested_by: str
    requested_at: datetime
    adviser: str | None  # None: asked, not answered yet
    opinion: str | None
    given_on: date | None
    recorded_by: str | None


def parse_adviser_kind(value: str) -> AdviserKind:
    try:
        return AdviserKind(value)
    except ValueError:
        raise InvalidRequest(msg("{value!r} is no kind of adviser", value=value),
                             hint=msg("one of: legal_adviser, government_lawyer")) from None


def request_advice(log: CustodyLog, user: User, packet_id: str, adviser_kind: AdviserKind,
                   question: str, now: datetime | None = None) -> Advice:
    """The reviewer asks a legal adviser or a government lawyer (``case:review:advice-requested``)."""
    what = "ask for a legal adviser's opinion"
    require_reviewer(user, what)
    question = clean_text(question, "question", TEXT_MAX)
    moment = now or datetime.now(UTC)
    advice_id = str(uuid.uuid4())
    with write_transaction(log.engine) as conn:
        packet = live_packet(conn, packet_id)
        row = action_row(conn, packet.action_id)
        reviewer_scope(conn, user, row, what)
        if packet.opinion is not None:
            raise ReviewError(msg("the packet already has the opinion {opinion}",
                                  opinion=packet.opinion),
                              hint=msg("a new submission gets a new review"))
        conn.execute(insert(tables.review_advice).values(
            id=advice_id, packet_id=packet_id, adviser_kind=adviser_kind.value,
            question=question, requested_by=user.name, requested_at=moment))
        log.append([EventDraft(EventType.REVIEW_ADVICE_REQUESTED, user.actor, None, {
            "case_id": row.case_id, "action_id": row.id, "packet_id": packet_id,
            "advice_id": advice_id, "adviser_kind": adviser_kind.value, "question": question},
            moment)], conn)
    return Advice(advice_id, packet_id, adviser_kind, question, user.name, moment, None, None,
                  None, None)


def record_advice(log: CustodyLog, user: User, packet_id: str, advice_id: str, adviser: str,
                  opinion: str, given_on: date, now: datetime | None = None) -> Advice:
    """The reviewer records the opinion given: who, what, on which day
    (``case:review:advice-recorded``); once."""
    what = "record a legal adviser's opinion"
    require_reviewer(user, what)
    adviser = clean_text(adviser, "adviser", 200)
    opinion = clean_text(opinion, "opinion", TEXT_MAX)
    moment = now or datetime.now(UTC)
    if given_on > local_day(moment):
        raise InvalidRequest(msg("the opinion cannot be given on {day}, a day still to come",
                                 day=given_on.isoformat()),
                             hint=msg("give the day the adviser gave it"))
    ra = tables.review_advice
    with write_transaction(log.engine) as conn:
        asked = conn.execute(select(ra).where(ra.c.id == advice_id,
                                              ra.c.packet_id == packet_id)).first()
        if asked is None:
            raise NotFound(msg("packet {packet_id} has no request for advice {advice_id}",
                               packet_id=packet_id, advice_id=advice_id))
        packet = live_packet(conn, packet_id)
        row = action_row(conn, packet.action_id)
        reviewer_scope(conn, user, row, what)
        if asked.adviser is not None:
            raise ReviewError(msg("this opinion was already recorded by {recorded_by}",
                                  recorded_by=asked.recorded_by),
                              hint=msg("ask again for another opinion"))
        conn.execute(update(ra).where(ra.c.id == advice_id).values(
            adviser=adviser, opinion=opinion, given_on=given_on, recorded_by=user.name,
            recorded_at=moment))
        log.append([EventDraft(EventType.REVIEW_ADVICE_RECORDED, user.actor, None, {
            "case_id": row.case_id, "action_id": row.id, "packet_id": packet_id,
            "advice_id": advice_id, "adviser_kind": asked.adviser_kind, "adviser": adviser,
            "opinion": opinion, "given_on": given_on.isoformat()}, moment)], conn)
    return Advice(advice_id, packet_id, AdviserKind(asked.adviser_kind), asked.question,
                  asked.requested_by, aware(asked.requested_at), adviser, opinion, given_on,
                  user.name)


def advice_by_packet(engine: Engine, packets: Sequence[Packet]) -> dict[str, list[Advice]]:
    """The advice asked for and given on each packet (``packets``: read with the reader's
    access checked, as ``packets_of`` and ``review_queue_of`` give them)."""
    ra = tables.review_advice
    found: dict[str, list[Advice]] = {p.id: [] for p in packets}
    if not found:
        return found
    with engine.connect() as conn:
        rows = conn.execute(select(ra).where(ra.c.packet_id.in_(list(found)))
                            .order_by(ra.c.requested_at, ra.c.id)).all()
    for r in rows:
        found[r.packet_id].append(Advice(
            r.id, r.packet_id, AdviserKind(r.adviser_kind), r.question, r.requested_by,
            aware(r.requested_at), r.adviser, r.opinion, r.given_on, r.recorded_by))
    return found
