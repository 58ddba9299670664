"""What the public site reads of published decisions (no sign-in).

Only published versions (``publication_versions``) and a record's public state (published or
revoked, with the revocation's date and reason) are read here: never a working copy, what was
masked, a case, an action or a party's id number. A draft or confirmed-but-unpublished record
is "not found", exactly like an id that does not exist. A revoked decision shows only its
revocation notice (agency, kind, dates, reason): its content is withdrawn, since what was
published may be what had to go. An updated one shows its current version with a correction
notice listing each earlier version's date and the reason it was replaced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, select, true

from cases import tables
from cases.publication import PUBLISHED, REVOKED
from cases.times import aware
from domain.errors import NotFound
from domain.messages import msg

PAGE_MAX = 100


@dataclass(frozen=True)
class Correction:
    """Version ``version`` replaced the one before on ``published_at`` for ``reason``."""

    version: int
    replaced_published_at: datetime  # when the replaced version had been published
    published_at: datetime
    reason: str


@dataclass(frozen=True)
class PublicDecision:
    id: str
    state: str  # published | revoked
    agency_code: str
    agency_name: str
    kind: str
    first_published_at: datetime
    changed_at: datetime
    version: int
    content: dict[str, Any] | None  # None once revoked
    corrections: tuple[Correction, ...]  # empty once revoked
    revoked_at: datetime | None
    revoke_reason: str | None


@dataclass(frozen=True)
class SearchPage:
    items: list[PublicDecision]
    total: int


def _agency_names(conn: Any, codes: set[str]) -> dict[str, str]:
    a = tables.agencies
    return {r.code: r.name for r in conn.execute(select(a.c.code, a.c.name)
                                                  .where(a.c.code.in_(codes)))}


def _decision(row: Any, versions: list[Any], agency_name: str) -> PublicDecision:
    first = aware(versions[0].published_at)
    if row.state == REVOKED:
        return PublicDecision(row.id, REVOKED, row.agency_code, agency_name, row.kind, first,
                              aware(row.public_changed_at), int(row.version), None, (),
                              aware(row.revoked_at), row.revoke_reason)
    corrections = tuple(
        Correction(v.version, aware(before.published_at), aware(v.published_at), v.reason or "")
        for before, v in pairwise(versions))
    return PublicDecision(row.id, PUBLISHED, row.agency_code, agency_name, row.kind, first,
                          aware(row.public_changed_at), int(row.version),
                          json.loads(versions[-1].content), corrections, None, None)


def _load(conn: Any, rows: list[Any]) -> list[PublicDecision]:
    if not rows:
        return []
    pv = tables.publication_versions
    versions: dict[str, list[Any]] = {}
    for v in conn.execute(select(pv.c.publication_id, pv.c.version, pv.c.content,
                                 pv.c.published_at, pv.c.reason)
                          .where(pv.c.publication_id.in_([r.id for r in rows]))
                          .order_by(pv.c.publication_id, pv.c.version)):
        versions.setdefault(v.publication_id, []).append(v)
    names = _agency_names(conn, {r.agency_code for r in rows})
    return [_decision(r, versions[r.id], names.get(r.agency_code, r.agency_code)) for r in rows]


_PUBLIC_COLUMNS = (tables.publications.c.id, tables.publications.c.state,
                   tables.publications.c.agency_code, tables.publications.c.kind,
                   tables.publications.c.version, tables.publications.c.public_changed_at,
                   tables.publications.c.revoked_at, tables.publications.c.revoke_reason)


def public_decision(engine: Engine, publication_id: str) -> PublicDecision:
    """One published or revoked decision; anything else is not found."""
    p = tables.publications
    with engine.connect() as conn:
        row = conn.execute(select(*_PUBLIC_COLUMNS).where(
            p.c.id == publication_id, p.c.state.in_((PUBLISHED, REVOKED)))).first()
        if row is None:
            raise NotFound(msg("no published decision has this address"),
                           hint=msg("search the published decisions"))
        return _load(conn, [row])[0]


def search(engine: Engine, *, agency: str | None = None, kind: str | None = None,
           date_from: date | None = None, date_to: date | None = None,
           party: str | None = None, offset: int = 0, limit: int = 20) -> SearchPage:
    """Published (not revoked) decisions, newest decision first: by agency, kind, decision
    date range (inclusive) and a part of the party's published (masked) name."""
    p, pv = tables.publications, tables.publication_versions
    conditions: list[ColumnElement[bool]] = [pv.c.live == true()]
    if agency:
        conditions.append(pv.c.agency_code == agency)
    if kind:
        conditions.append(pv.c.kind == kind)
    if date_from:
        conditions.append(pv.c.decision_date >= date_from)
    if date_to:
        conditions.append(pv.c.decision_date <= date_to)
    if party:
        escaped = party.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(pv.c.party.like(f"%{escaped}%", escape="\\"))
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(pv).where(*conditions))
                    .scalar_one())
        ids = list(conn.execute(select(pv.c.publication_id).where(*conditions)
                                .order_by(pv.c.decision_date.desc(), pv.c.published_at.desc(),
                                          pv.c.publication_id)
                                .offset(offset).limit(min(limit, PAGE_MAX))).scalars())
        rows = {r.id: r for r in conn.execute(select(*_PUBLIC_COLUMNS).where(
            p.c.id.in_(ids), p.c.state == PUBLISHED))}
        return SearchPage(_load(conn, [rows[i] for i in ids if i in rows]), total)


def recent_changes(engine: Engine, limit: int = 50) -> list[PublicDecision]:
    """The decisions the public last saw change (published, updated or revoked), newest
    first: the feed."""
    p = tables.publications
    with engine.connect() as conn:
        rows = list(conn.execute(select(*_PUBLIC_COLUMNS)
                                 .where(p.c.state.in_((PUBLISHED, REVOKED)))
                                 .order_by(p.c.public_changed_at.desc(), p.c.id).limit(limit)))
        return _load(conn, rows)


def agencies_with_decisions(engine: Engine) -> dict[str, str]:
    """Agencies with a published decision: {code: name}."""
    p = tables.publications
    with engine.connect() as conn:
        codes = set(conn.execute(select(p.c.agency_code).where(p.c.state == PUBLISHED)
                                 .distinct()).scalars())
        return _agency_names(conn, codes) if codes else {}
