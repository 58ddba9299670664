"""The service (送达) of an enforcement action's decision on the party: when, how and on
whom, each a custody event (``case:action:decision-served``). Only a recorded decision can
be served; a decision may be served more than once (say, by post after a failed direct
service)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import Engine, insert, select

from cases import access, tables
from cases.actions import ActionState, action_row
from cases.errors import InvalidRequest
from cases.packet_checks import ReviewError
from cases.text import clean_text
from cases.times import aware, local_day
from cases.users import User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction


class ServiceMethod(StrEnum):
    DIRECT = "direct"  # 直接送达
    POST = "post"  # 邮寄送达
    LEFT = "left"  # 留置送达
    ELECTRONIC = "electronic"  # 电子送达
    PUBLIC_NOTICE = "public_notice"  # 公告送达


@dataclass(frozen=True)
class Service:
    id: str
    action_id: str
    served_on: date
    method: ServiceMethod
    recipient: str
    recorded_by: str
    recorded_at: datetime


def parse_method(value: str) -> ServiceMethod:
    try:
        return ServiceMethod(value)
    except ValueError:
        raise InvalidRequest(msg("{value!r} is no method of service", value=value),
                             hint=msg("one of: {methods}",
                                      methods=", ".join(m.value for m in ServiceMethod))
                             ) from None


def record_service(log: CustodyLog, user: User, action_id: str, served_on: date,
                   method: ServiceMethod, recipient: str, now: datetime | None = None) -> Service:
    """Record that the decision was served (a case officer of the case, an admin of its
    agency); refused until the decision is recorded."""
    what = "record the service of this decision"
    access.require_role(user, access.MANAGE_CASE, what)
    recipient = clean_text(recipient, "recipient", 200)
    moment = now or datetime.now(UTC)
    if served_on > local_day(moment):
        raise InvalidRequest(msg("the decision cannot be served on {day}, a day still to come",
                                 day=served_on.isoformat()),
                             hint=msg("record the service once it is done"))
    service = Service(str(uuid.uuid4()), action_id, served_on, method, recipient, user.name,
                      moment)
    with write_transaction(log.engine) as conn:
        row = action_row(conn, action_id)
        access.require_case_access(conn, user, row.case_id, access.MANAGE_CASE, what)
        if row.state != ActionState.DECIDED.value:
            raise ReviewError(msg("the decision is not recorded yet; it cannot be served"),
                              hint=msg("record the decision first"))
        conn.execute(insert(tables.decision_services).values(
            id=service.id, action_id=action_id, served_on=served_on, method=method.value,
            recipient=recipient, recorded_by=user.name, recorded_at=moment))
        log.append([EventDraft(EventType.ACTION_DECISION_SERVED, user.actor, None, {
            "case_id": row.case_id, "action_id": action_id, "service_id": service.id,
            "served_on": served_on.isoformat(), "method": method.value,
            "recipient": recipient}, moment)], conn)
    return service


def services_of(engine: Engine, user: User, action_id: str) -> list[Service]:
    """How the action's decision was served, for who may read its case."""
    what = "read this decision's service"
    ds = tables.decision_services
    with engine.connect() as conn:
        row = action_row(conn, action_id)
        access.require_case_access(conn, user, row.case_id, access.READ_CASES, what)
        rows = conn.execute(select(ds).where(ds.c.action_id == action_id)
                            .order_by(ds.c.served_on, ds.c.recorded_at)).all()
    return [Service(r.id, r.action_id, r.served_on, ServiceMethod(r.method), r.recipient,
                    r.recorded_by, aware(r.recorded_at)) for r in rows]
