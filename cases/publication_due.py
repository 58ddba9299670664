"""Publication deadlines: due, due soon and overdue lists, and the notices of the people
responsible (cases/publication.py keeps the records).

A decision is published within 7 working days (licensing, penalty) or 20 (the others) of
its local decision date, on the official calendar (``cases.workdays``). A deadline counted
into a year whose schedule is not known yet is unconfirmed, and counted again on each read,
so it becomes confirmed once an admin enters that year. Due soon: two working days or fewer
left. The notices are computed, never stored: who is responsible (the action's handling
officers and the case's officers) sees every unpublished record of theirs with its status,
so a notice cannot go stale or be lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from cases import access, tables
from cases.errors import InvalidRequest
from cases.publication import (
    DRAFT,
    PUBLISHED,
    REVIEWED,
    REVOKED,
    deadline_days,
    local_day,
)
from cases.times import aware
from cases.users import User
from cases.workdays import Due, add_working_days
from domain.messages import msg

SOON = 2  # working days left: "due soon"


class DueStatus(StrEnum):
    DUE = "due"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    PUBLISHED = "published"  # on time or late: see on_time
    REVOKED = "revoked"


UNPUBLISHED = (DueStatus.DUE, DueStatus.DUE_SOON, DueStatus.OVERDUE)


@dataclass(frozen=True)
class DueItem:
    publication_id: str
    action_id: str
    case_id: str
    case_number: str
    agency_code: str
    unit_code: str
    kind: str
    state: str  # draft | reviewed | published | revoked
    decision_date: date
    due: date
    due_confirmed: bool
    status: DueStatus
    published_at: datetime | None
    on_time: bool | None  # published by the due day (None: not published)
    party: str  # masked
    responsible: tuple[str, ...]


def parse_status(value: str | None) -> DueStatus | None:
    if value is None:
        return None
    try:
        return DueStatus(value)
    except ValueError:
        raise InvalidRequest(msg("{value!r} is no publication status", value=value),
                             hint=msg("one of: {statuses}",
                                      statuses=", ".join(s.value for s in DueStatus))) from None


def current_due(conn: Connection, row: Any) -> Due:
    """The stored deadline, or counted again while unconfirmed (the year may be known now)."""
    if row.due_confirmed:
        return Due(row.due, True)
    return add_working_days(conn, row.decision_date, deadline_days(row.kind))


def status_of(conn: Connection, row: Any, due: date, today: date) -> DueStatus:
    if row.state == REVOKED:
        return DueStatus.REVOKED
    if row.state == PUBLISHED:
        return DueStatus.PUBLISHED
    if today > due:
        return DueStatus.OVERDUE
    if add_working_days(conn, today, SOON).day >= due:
        return DueStatus.DUE_SOON
    return DueStatus.DUE


def responsible_for(conn: Connection, row: Any) -> tuple[str, ...]:
    """The action's handling officers and the case's officers."""
    ao, co = tables.action_officers, tables.case_officers
    names = set(conn.execute(select(ao.c.user_name).where(ao.c.action_id == row.action_id))
                .scalars())
    names |= set(conn.execute(select(co.c.user_name).where(co.c.case_id == row.case_id))
                 .scalars())
    return tuple(sorted(names))


def _item(conn: Connection, row: Any, today: date) -> DueItem:
    due = current_due(conn, row)
    published = aware(row.published_at) if row.published_at else None
    return DueItem(row.id, row.action_id, row.case_id, row.number, row.agency_code,
                   row.unit_code, row.kind, row.state, row.decision_date, due.day, due.confirmed,
                   status_of(conn, row, due.day, today), published,
                   None if published is None else local_day(published) <= due.day, row.party,
                   responsible_for(conn, row))


def _rows(conn: Connection, condition: Any) -> list[Any]:
    p, c = tables.publications, tables.cases
    query = (select(p, c.c.number).join(c, c.c.id == p.c.case_id).where(condition)
             .order_by(p.c.due, p.c.decision_date, p.c.id))
    return list(conn.execute(query))


def due_list(engine: Engine, user: User, now: datetime, status: DueStatus | None = None,
             agency: str | None = None, unit: str | None = None) -> list[DueItem]:
    """Publication records of the cases the user may read, earliest due first: by default the
    unpublished ones (due, due soon, overdue); or those of one status; per agency or unit."""
    access.require_role(user, access.READ_CASES, "see the publication deadlines")
    p = tables.publications
    condition: Any = access.visible_cases(user)
    if status in (DueStatus.PUBLISHED, DueStatus.REVOKED):
        condition = condition & (p.c.state == status.value)
    else:
        condition = condition & p.c.state.in_((DRAFT, REVIEWED))
    if agency is not None:
        condition = condition & (p.c.agency_code == agency)
    if unit is not None:
        condition = condition & (p.c.unit_code == unit)
    today = local_day(now)
    with engine.connect() as conn:
        items = [_item(conn, row, today) for row in _rows(conn, condition)]
    if status in UNPUBLISHED:
        items = [i for i in items if i.status is status]
    return items


def notices_of(engine: Engine, user: User, now: datetime) -> list[DueItem]:
    """The user's notices: every unpublished decision they are responsible for, with its
    deadline and status (overdue first)."""
    p, ao, co = tables.publications, tables.action_officers, tables.case_officers
    mine = or_(p.c.action_id.in_(select(ao.c.action_id).where(ao.c.user_name == user.name)),
               p.c.case_id.in_(select(co.c.case_id).where(co.c.user_name == user.name)))
    today = local_day(now)
    with engine.connect() as conn:
        items = [_item(conn, row, today)
                 for row in _rows(conn, mine & p.c.state.in_((DRAFT, REVIEWED)))]
    order = {DueStatus.OVERDUE: 0, DueStatus.DUE_SOON: 1, DueStatus.DUE: 2}
    return sorted(items, key=lambda i: (order.get(i.status, 3), i.due))
