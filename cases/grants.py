"""Grants: footage of one unit made attachable to another unit's case.

Only an admin of the agency owning the footage (or the server's operator) may
grant it. The grant is a row of ``evidence_grants`` and the custody event
``evidence:access:granted`` on the footage, naming both sides; once granted,
the case's officers can see the item and attach it (``cases.access``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select

from cases import access, tables
from cases.case_records import case_row
from cases.errors import InvalidRequest
from cases.evidence import evidence_row
from cases.tables import DEFAULT_UNIT
from cases.text import REASON_MAX, clean_text
from cases.users import User
from custody.events import EventDraft, Subject
from custody.log import CustodyLog
from domain.errors import AlreadyExists
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction


@dataclass(frozen=True)
class Grant:
    evidence_id: str
    case_id: str
    case_number: str
    from_unit: str
    to_unit: str
    reason: str
    granted_at: datetime
    granted_by: str


def grant_evidence(log: CustodyLog, by: User, evidence_id: str, case_id: str, reason: str,
                   now: datetime | None = None) -> Grant:
    """Let the officers of ``case_id`` (another unit's case) see and attach this footage."""
    action = "grant this footage to another unit's case"
    access.require_role(by, access.GRANT, action)
    reason = clean_text(reason, msg("reason"), REASON_MAX)
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        evidence = evidence_row(conn, evidence_id)
        access.require_owner_admin(conn, by, evidence, access.GRANT, action)
        case = case_row(conn, case_id)
        from_unit = evidence.unit_code or DEFAULT_UNIT
        if from_unit == case.unit_code:
            raise InvalidRequest(msg("evidence {evidence_id} already belongs to unit {from_unit}, the unit "
                                     "of case {number}", evidence_id=evidence_id, from_unit=from_unit,
                                     number=case.number),
                                 hint=msg("its case officers can attach it without a grant"))
        grants = tables.evidence_grants
        if conn.execute(select(grants.c.case_id).where(grants.c.evidence_id == evidence_id,
                                                       grants.c.case_id == case_id)).first():
            raise AlreadyExists(msg("evidence {evidence_id} is already granted to case {number}",
                                    evidence_id=evidence_id, number=case.number))
        conn.execute(insert(grants).values(
            evidence_id=evidence_id, case_id=case_id, from_unit=from_unit, to_unit=case.unit_code,
            reason=reason, granted_at=moment, granted_by=by.actor))
        log.append([EventDraft(EventType.ACCESS_GRANTED, by.actor,
                               Subject(evidence.id, evidence.sha256), {
            "from_unit": from_unit, "case_id": case_id, "case_number": case.number,
            "to_unit": case.unit_code, "reason": reason}, moment)], conn)
    return Grant(evidence_id, case_id, case.number, from_unit, case.unit_code, reason, moment,
                 by.actor)
