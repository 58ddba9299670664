"""Each agency's catalogue of major decisions (重大执法决定法制审核目录清单): rules by kind,
matter and thresholds, versioned; and an action marked major by hand, with the reason.
``major_because`` says why an action needs the legal review (cases/legal_review.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from cases import access, tables
from cases.actions import action_row
from cases.case_records import case_row
from cases.errors import InvalidRequest
from cases.organisation import require_org_admin
from cases.text import REASON_MAX, clean_text
from cases.users import User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.event_types import EventType
from domain.messages import Message, msg
from storage.db import write_transaction

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


def major_because(conn: Connection, row: Any) -> Message | None:
    """Why the action is major (by the catalogue's rule, or by hand), or None."""
    if row.major_reason:
        return msg("marked major by hand: {reason}", reason=row.major_reason)
    case = case_row(conn, row.case_id)
    version, rules = _catalogue(conn, access.unit_agency(conn, case.unit_code))
    facts = json.loads(row.facts or "{}")
    for number, rule in enumerate(rules, 1):
        if _rule_matches(rule, row, facts):
            return msg("rule {number} of the major-decision catalogue, version {version}",
                       number=number, version=version)
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


