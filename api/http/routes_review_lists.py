"""What the legal-review pages read (cases/review_lists.py): an action's review state, one
packet with its items named, and the approving head's list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.http.auth import CurrentUser
from api.http.errors import request_locale, responses
from api.http.routes_actions import ActionOut, PacketOut, action_out, packet_out
from api.http.services import ServicesDep
from api.i18n import tr
from cases.legal_advice import Advice, advice_by_packet
from cases.review_lists import (
    ActionReview,
    Item,
    PacketView,
    action_review,
    approvals_of,
    packet_view,
)
from cases.times import local_day

router = APIRouter(tags=["enforcement"])


class ItemOut(BaseModel):
    evidence_id: str
    name: str | None
    kind: str | None = Field(description="The catalogue's kind: video, audio, image, document.")
    document_kind: str | None = Field(description="A document's kind; null for footage.")
    sha256: str
    size: int | None


class StepOut(BaseModel):
    seq: int = Field(description="The custody entry (its proof: /custody/entries/{seq}/proof).")
    type: str
    actor: str
    time: datetime
    details: dict[str, Any]


class ActionReviewOut(BaseModel):
    action: ActionOut
    case_number: str
    major: str | None = Field(description="Why the action is major, in the request's language; "
                                          "null: it is not.")
    facts: dict[str, Any]
    draft: ItemOut | None
    cited: list[ItemOut]
    packet_sha256: str | None = Field(description="The hash the current materials make.")
    blocking: str | None = Field(description="What is missing before the decision may be "
                                             "recorded, in the request's language; null: nothing.")
    steps: list[StepOut]
    packets: list[PacketOut]


class PacketViewOut(BaseModel):
    packet: PacketOut
    action: ActionOut
    case_number: str
    case_title: str
    draft: ItemOut
    cited: list[ItemOut]
    facts: dict[str, Any]
    reasons: str | None
    checklist: dict[str, dict[str, str]] | None
    reviewed_at: datetime | None
    contested_by: str | None
    contest_reason: str | None
    ruling_reason: str | None
    current: bool = Field(description="The action's materials still make this packet's hash.")


class ApprovalsOut(BaseModel):
    to_approve: list[PacketViewOut]
    to_rule: list[PacketViewOut]


def item_out(i: Item) -> ItemOut:
    return ItemOut(evidence_id=i.evidence_id, name=i.name, kind=i.media_kind,
                   document_kind=i.document_kind, sha256=i.sha256, size=i.size)


def packet_view_out(v: PacketView, today: date,
                    advice: dict[str, list[Advice]] | None = None) -> PacketViewOut:
    return PacketViewOut(packet=packet_out(v.packet, today, (advice or {}).get(v.packet.id)),
                         action=action_out(v.action),
                         case_number=v.case_number, case_title=v.case_title,
                         draft=item_out(v.draft), cited=[item_out(i) for i in v.cited],
                         facts=v.facts, reasons=v.reasons, checklist=v.checklist,
                         reviewed_at=v.reviewed_at, contested_by=v.contested_by,
                         contest_reason=v.contest_reason, ruling_reason=v.ruling_reason,
                         current=v.current)


def review_out(r: ActionReview, locale: str, today: date,
               advice: dict[str, list[Advice]] | None = None) -> ActionReviewOut:
    return ActionReviewOut(
        action=action_out(r.action), case_number=r.case_number,
        major=None if r.major is None else tr(r.major, locale), facts=r.facts,
        draft=None if r.draft is None else item_out(r.draft),
        cited=[item_out(i) for i in r.cited], packet_sha256=r.packet_sha256,
        blocking=None if r.blocking is None else tr(r.blocking, locale),
        steps=[StepOut(seq=s.seq, type=s.type, actor=s.actor, time=s.time, details=s.details)
               for s in r.steps],
        packets=[packet_out(p, today, (advice or {}).get(p.id)) for p in r.packets])


@router.get("/actions/{action_id}/review-state", response_model=ActionReviewOut,
            responses=responses(401, 403, 404), summary="An action's legal review, for its page")
def review_state(action_id: UUID, request: Request, services: ServicesDep,
                 user: CurrentUser) -> ActionReviewOut:
    """For who may read its case: why it is major, its draft and cited items, its steps from
    the custody log, its packets, and what the gate says blocks the decision."""
    review = action_review(services.engine, user, str(action_id))
    return review_out(review, request_locale(request), local_day(services.now()),
                      advice_by_packet(services.engine, review.packets))


@router.get("/reviews/{packet_id}", response_model=PacketViewOut,
            responses=responses(401, 403, 404), summary="One review packet")
def one_packet(packet_id: UUID, services: ServicesDep, user: CurrentUser) -> PacketViewOut:
    """For who may read its case (a reviewer: once it was submitted): its items named, with
    their hashes, and its checklist and opinion once given."""
    view = packet_view(services.engine, user, str(packet_id))
    return packet_view_out(view, local_day(services.now()),
                           advice_by_packet(services.engine, [view.packet]))


@router.get("/approvals", response_model=ApprovalsOut, responses=responses(401, 403),
            summary="The approving head's list")
def approvals(services: ServicesDep, user: CurrentUser) -> ApprovalsOut:
    """Admins (the agency's approving head and principal): passed reviews of the current
    materials waiting for sign-off, and contested opinions waiting for a ruling."""
    lists = approvals_of(services.engine, user)
    today = local_day(services.now())
    advice = advice_by_packet(services.engine,
                              [v.packet for v in (*lists.to_approve, *lists.to_rule)])
    return ApprovalsOut(to_approve=[packet_view_out(v, today, advice) for v in lists.to_approve],
                        to_rule=[packet_view_out(v, today, advice) for v in lists.to_rule])
