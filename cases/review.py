"""Sending a case for review: its agency's reviewers may then read it, play and download
its footage and export it (``cases.access``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from cases import access, tables
from cases.case_records import Case, case_row, load_case
from cases.errors import Conflict
from cases.times import aware
from cases.users import User
from custody.events import EventDraft, format_time
from custody.log import CustodyLog
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction


def request_review(log: CustodyLog, user: User, case_id: str, now: datetime | None = None) -> Case:
    """Send a case for review (event ``case:review:requested``); only once per case.

    A case officer who manages the case, or an admin of its agency.
    """
    action = "send this case for review"
    access.require_role(user, access.REQUEST_REVIEW, action)
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        case = case_row(conn, case_id)
        access.require_case_access(conn, user, case_id, access.REQUEST_REVIEW, action)
        if case.review_requested_at is not None:
            raise Conflict(msg("case {number} was already sent for review on {format_time} by "
                               "{review_requested_by}", number=case.number,
                               format_time=format_time(aware(case.review_requested_at)),
                               review_requested_by=case.review_requested_by),
                           hint=msg("its agency's reviewers can already read it"))
        c = tables.cases
        # conditional: of two concurrent requests, only one changes the row
        changed = conn.execute(update(c).where(c.c.id == case_id, c.c.review_requested_at.is_(None))
                               .values(review_requested_at=moment, review_requested_by=user.name))
        if changed.rowcount != 1:
            raise Conflict(msg("case {number} was sent for review meanwhile", number=case.number))
        log.append([EventDraft(EventType.CASE_REVIEW_REQUESTED, user.actor, None, {
            "case_id": case_id, "case_number": case.number, "unit": case.unit_code}, moment)],
            conn)
        return load_case(conn, case_id)
