"""The annual statistics (统计年报): each agency's figures of a year, due by 31 January.

What is counted, for agency A and year Y (local dates, Asia/Shanghai):
- decisions: A's decided enforcement actions whose decision date (the publication record's,
  drafted when the decision is recorded) falls in Y, by kind, and by kind and outcome; the
  outcome is the heaviest consequence the decision's facts record: licence_revoked, then
  business_closed, then fine (a fine above 0), else other.
- major decisions: those decisions that went through a legal review (at least one review
  packet; the gate lets a major decision be recorded only after one passed). Reviews: A's
  review packets submitted in Y, by their opinion: passed, returned, failed, pending (no
  opinion yet), voided (the materials changed after the submission).
- deadlines: of Y's decisions, published by the due day (on time), after it (late),
  unpublished past the due day (as of the report), unpublished not yet due. A revoked record
  counts by when it was first published.
- revoked and updated: A's records revoked in Y; records with a new version (update)
  published in Y, and the number of such versions.
- footage coverage: of Y's decisions taken on site, those whose case holds at least one
  evidence item that is not one of the case's written documents (footage or a recording),
  and that share in percent (one decimal; none when there was no on-site action).

Generated on each read until an admin of the agency publishes it (``org:annual-report:
published``, after the year ended): then the figures are frozen as canonical JSON with their
SHA-256 and every read returns the frozen copy. Readers: the agency's admins and the
auditors whose scope holds it; the public site shows published reports only.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from cases import access, tables
from cases.actions import ActionKind
from cases.errors import AccessDenied, Conflict, InvalidRequest
from cases.organisation import require_org_admin
from cases.publication import REVOKED, local_day
from cases.publication_due import current_due
from cases.times import aware
from cases.users import ALL_AGENCIES, Role, User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import NotFound
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction

OUTCOMES = ("licence_revoked", "business_closed", "fine", "other")  # heaviest first
OPINIONS = {"pass": "passed", "return": "returned", "fail": "failed"}
FIRST_YEAR = 2000
DUE_MONTH_DAY = (1, 31)  # the report of year Y is due by 31 January of Y+1


@dataclass(frozen=True)
class AnnualReport:
    agency: str
    agency_name: str
    year: int
    as_of: str  # the local date the figures were counted on (ISO)
    decisions: int
    by_kind: dict[str, int]
    by_kind_outcome: dict[str, dict[str, int]]
    major_decisions: int
    reviews: dict[str, int]  # submitted, passed, returned, failed, pending, voided
    deadlines: dict[str, int]  # on_time, late, overdue_unpublished, not_yet_due
    revoked: int
    updated: int
    updates: int
    on_site: int
    on_site_with_footage: int
    footage_share: float | None  # percent, one decimal
    published_at: str | None = None
    published_by: str | None = None
    sha256: str | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        """What is frozen and hashed: everything but the publication's own fields."""
        out = asdict(self)
        for key in ("published_at", "published_by", "sha256"):
            out.pop(key)
        return out


def canonical(figures: dict[str, Any]) -> bytes:
    return json.dumps(figures, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode()


def check_year(year: int, now: datetime) -> None:
    if not FIRST_YEAR <= year <= local_day(now).year:
        raise InvalidRequest(msg("{year} is no year to report on", year=year),
                             hint=msg("give a year from {first} to this year", first=FIRST_YEAR))


def require_reader(user: User, agency: str) -> None:
    """The operator, the agency's admins, and the auditors whose scope holds it."""
    if user.operator:
        return
    if user.role is Role.ADMIN and user.agency_code == agency:
        return
    if user.role is Role.AUDITOR and user.auditor_scope in (agency, ALL_AGENCIES):
        return
    raise AccessDenied(msg("{user} may not read the statistics of agency {agency}",
                           user=user.name, agency=agency),
                       hint=msg("an admin of the agency or an auditor of it can"))


def _agency_name(conn: Connection, agency: str) -> str:
    name = conn.execute(select(tables.agencies.c.name)
                        .where(tables.agencies.c.code == agency)).scalar()
    if name is None:
        raise NotFound(msg("no agency {agency}", agency=agency))
    return str(name)


def outcome_of(facts_json: str | None) -> str:
    facts = json.loads(facts_json or "{}")
    for flag in ("licence_revoked", "business_closed"):
        if facts.get(flag):
            return flag
    fine = facts.get("fine")
    if isinstance(fine, (int, float)) and fine > 0:
        return "fine"
    return "other"


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    """UTC moments a day either side of the local year (the exact test is ``_in_year``)."""
    return (datetime(year - 1, 12, 31, tzinfo=UTC), datetime(year + 1, 1, 2, tzinfo=UTC))


def _in_year(moment: datetime | None, year: int) -> bool:
    return moment is not None and local_day(aware(moment)).year == year


def compute(conn: Connection, agency: str, year: int, now: datetime) -> AnnualReport:
    """Count the figures (see the module's docstring for what each one is)."""
    name = _agency_name(conn, agency)
    today = local_day(now)
    p, a, rp = tables.publications, tables.enforcement_actions, tables.review_packets
    c, u, ce, cd = tables.cases, tables.units, tables.case_evidence, tables.case_documents
    decided = list(conn.execute(
        select(p, a.c.facts, a.c.on_site).join(a, a.c.id == p.c.action_id)
        .where(p.c.agency_code == agency, p.c.decision_date >= date(year, 1, 1),
               p.c.decision_date <= date(year, 12, 31))))
    by_kind = Counter(r.kind for r in decided)
    by_outcome: dict[str, dict[str, int]] = {}
    for r in decided:
        kinds = by_outcome.setdefault(r.kind, dict.fromkeys(OUTCOMES, 0))
        kinds[outcome_of(r.facts)] += 1
    reviewed = set(conn.execute(select(rp.c.action_id).where(
        rp.c.action_id.in_({r.action_id for r in decided})).distinct()).scalars())
    major = sum(1 for r in decided if r.action_id in reviewed)

    first, last = _year_bounds(year)
    packets = [r for r in conn.execute(
        select(rp.c.submitted_at, rp.c.opinion, rp.c.voided_at)
        .join(a, a.c.id == rp.c.action_id).join(c, c.c.id == a.c.case_id)
        .join(u, u.c.code == c.c.unit_code)
        .where(u.c.agency_code == agency, rp.c.submitted_at.between(first, last)))
        if _in_year(r.submitted_at, year)]
    reviews = {"submitted": len(packets), "passed": 0, "returned": 0, "failed": 0,
               "pending": 0, "voided": 0}
    for packet in packets:
        if packet.opinion in OPINIONS:
            reviews[OPINIONS[packet.opinion]] += 1
        elif packet.voided_at is not None:
            reviews["voided"] += 1
        else:
            reviews["pending"] += 1

    deadlines = dict.fromkeys(("on_time", "late", "overdue_unpublished", "not_yet_due"), 0)
    for r in decided:
        due = current_due(conn, r).day
        if r.published_at is not None:
            on_time = local_day(aware(r.published_at)) <= due
            deadlines["on_time" if on_time else "late"] += 1
        elif r.state != REVOKED:
            deadlines["overdue_unpublished" if today > due else "not_yet_due"] += 1

    revoked = sum(1 for r in conn.execute(
        select(p.c.revoked_at).where(p.c.agency_code == agency,
                                     p.c.revoked_at.between(first, last)))
        if _in_year(r.revoked_at, year))
    pv = tables.publication_versions
    new_versions = [r for r in conn.execute(
        select(pv.c.publication_id, pv.c.published_at)
        .where(pv.c.agency_code == agency, pv.c.version > 1,
               pv.c.published_at.between(first, last))) if _in_year(r.published_at, year)]

    on_site = [r for r in decided if r.on_site]
    footage_cases = set(conn.execute(
        select(ce.c.case_id).where(
            ce.c.case_id.in_({r.case_id for r in on_site}),
            ~select(cd.c.evidence_id).where(cd.c.case_id == ce.c.case_id,
                                            cd.c.evidence_id == ce.c.evidence_id).exists())
        .distinct()).scalars())
    covered = sum(1 for r in on_site if r.case_id in footage_cases)
    return AnnualReport(
        agency=agency, agency_name=name, year=year, as_of=today.isoformat(),
        decisions=len(decided),
        by_kind={k.value: by_kind.get(k.value, 0) for k in ActionKind},
        by_kind_outcome={k.value: by_outcome.get(k.value, dict.fromkeys(OUTCOMES, 0))
                         for k in ActionKind},
        major_decisions=major, reviews=reviews, deadlines=deadlines, revoked=revoked,
        updated=len({r.publication_id for r in new_versions}), updates=len(new_versions),
        on_site=len(on_site), on_site_with_footage=covered,
        footage_share=round(100 * covered / len(on_site), 1) if on_site else None)


def _frozen(row: Any) -> AnnualReport:
    figures = json.loads(row.content)
    return AnnualReport(**figures, published_at=aware(row.published_at).isoformat(),
                        published_by=row.published_by, sha256=row.sha256)


def _stored(conn: Connection, agency: str, year: int) -> Any:
    ar = tables.annual_reports
    return conn.execute(select(ar).where(ar.c.agency_code == agency,
                                         ar.c.year == year)).first()


def report_of(engine: Engine, user: User, agency: str, year: int,
              now: datetime | None = None) -> AnnualReport:
    """The published (frozen) report, else the figures counted now."""
    moment = now or datetime.now(UTC)
    require_reader(user, agency)
    check_year(year, moment)
    with engine.connect() as conn:
        row = _stored(conn, agency, year)
        return _frozen(row) if row is not None else compute(conn, agency, year, moment)


def published_report(engine: Engine, agency: str, year: int) -> AnnualReport:
    """A published report, for the public site (NotFound when not published)."""
    with engine.connect() as conn:
        row = _stored(conn, agency, year)
    if row is None:
        raise NotFound(msg("agency {agency} has not published its statistics of {year}",
                           agency=agency, year=year))
    return _frozen(row)


def published_years(engine: Engine, agency: str) -> list[int]:
    ar = tables.annual_reports
    with engine.connect() as conn:
        return list(conn.execute(select(ar.c.year).where(ar.c.agency_code == agency)
                                 .order_by(ar.c.year.desc())).scalars())


def publish(log: CustodyLog, user: User, agency: str, year: int,
            now: datetime | None = None) -> AnnualReport:
    """Freeze the year's figures and show them on the public site
    (``org:annual-report:published``); once only, and only after the year ended."""
    moment = now or datetime.now(UTC)
    require_org_admin(user, agency, msg("publish the statistics of agency {agency}",
                                        agency=agency))
    check_year(year, moment)
    if local_day(moment).year <= year:
        raise Conflict(msg("the year {year} has not ended yet", year=year),
                       hint=msg("publish its statistics from 1 January of the next year"))
    ar = tables.annual_reports
    with write_transaction(log.engine) as conn:
        if _stored(conn, agency, year) is not None:
            raise Conflict(msg("the statistics of {year} are already published", year=year),
                           hint=msg("a published report is frozen; read it as it is"))
        figures = compute(conn, agency, year, moment).figures()
        digest = hashlib.sha256(canonical(figures)).hexdigest()
        conn.execute(insert(ar).values(agency_code=agency, year=year,
                                       content=canonical(figures).decode(), sha256=digest,
                                       published_at=moment, published_by=user.actor))
        log.append([EventDraft(EventType.ANNUAL_REPORT_PUBLISHED, user.actor, None, {
            "agency": agency, "year": year, "sha256": digest}, moment)], conn)
        row = _stored(conn, agency, year)
    return _frozen(row)


@dataclass(frozen=True)
class ReportDue:
    agency: str
    year: int
    due: date
    overdue: bool


def reports_due(engine: Engine, user: User, now: datetime | None = None) -> list[ReportDue]:
    """From 1 January: last year's report of each agency the user may read, until published
    (due 31 January, overdue after)."""
    access.require_role(user, (Role.ADMIN, Role.AUDITOR), "see the annual statistics due")
    moment = now or datetime.now(UTC)
    today = local_day(moment)
    year = today.year - 1
    due = date(today.year, *DUE_MONTH_DAY)
    ag, ar = tables.agencies, tables.annual_reports
    with engine.connect() as conn:
        codes = list(conn.execute(select(ag.c.code).order_by(ag.c.code)).scalars())
        done = set(conn.execute(select(ar.c.agency_code).where(ar.c.year == year)).scalars())
    out = []
    for code in codes:
        try:
            require_reader(user, code)
        except AccessDenied:
            continue
        if code not in done:
            out.append(ReportDue(code, year, due, today > due))
    return out
