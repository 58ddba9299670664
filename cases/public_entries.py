"""What the public site shows before the action: the published copy of each list entry.

An agency's admin publishes an entry of one of its four lists; the entry's public fields (and
nothing else) are copied into ``public_entries`` with a custody event
(``org:public-entry:published``). Publishing again replaces the copy with the entry's current
text; withdrawing deletes the copy (``org:public-entry:withdrawn``, with a reason). Editing an
entry never changes what the public sees until it is published again.

The lists (``ListKind``):
- matters: the list of enforcement matters (执法事项清单, ``cases.actions``);
- officers: an officer and their enforcement certificate (执法证), under a name the admin gives
  for the public (the account's user name, officer number and unit are never copied); an
  officer whose account is revoked drops off the public site, and the certificate check
  answers "unknown" for them;
- inspections: the random-inspection list (随机抽查事项清单, ``cases.public_lists``);
- guides: service guides (办事指南); a guide can be published only when its matter is.

The public reads (``public_agencies``, ``public_list``, ``check_certificate``) need no user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from cases import access, tables
from cases.actions import TEXT_MAX
from cases.errors import InvalidRequest
from cases.organisation import require_org_admin
from cases.public_lists import guide_of, inspection_of
from cases.text import clean_text
from cases.times import aware
from cases.users import User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import NotFound
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction

PUBLIC_NAME_MAX = 64


class ListKind(StrEnum):
    MATTERS = "matters"  # 执法事项清单
    OFFICERS = "officers"  # 执法人员 and their certificates
    INSPECTIONS = "inspections"  # 随机抽查事项清单
    GUIDES = "guides"  # 办事指南


class CertificateStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    UNKNOWN = "unknown"  # not published, withdrawn, its holder gone, or never issued


@dataclass(frozen=True)
class PublicEntry:
    kind: ListKind
    entry_id: str
    agency_code: str
    title: str
    content: dict[str, Any]  # the public fields only
    published_at: datetime


@dataclass(frozen=True)
class PublicAgency:
    code: str
    name: str
    counts: dict[ListKind, int]


@dataclass(frozen=True)
class CertificateCheck:
    number: str
    status: CertificateStatus
    entry: PublicEntry | None  # the published officer, unless unknown
    agency_name: str | None


@dataclass(frozen=True)
class EntryStatus:
    """One entry of an agency's list as its admin sees it: is it public, and as written?"""

    kind: ListKind
    entry_id: str
    title: str
    published_at: datetime | None
    current: bool  # the published copy is the entry's current text
    holder: str | None = None  # an officer's user name (for the admin; never public)


def parse_kind(value: str) -> ListKind:
    try:
        return ListKind(value)
    except ValueError:
        raise InvalidRequest(msg("{value!r} is no public list", value=value),
                             hint=msg("one of: {kinds}", kinds=", ".join(k.value for k in ListKind))
                             ) from None


def _canonical(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _matter_content(conn: Connection, matter_id: str) -> tuple[str, str, dict[str, Any]]:
    m = tables.enforcement_matters
    row = conn.execute(select(m).where(m.c.id == matter_id)).first()
    if row is None:
        raise NotFound(msg("there is no enforcement matter {matter_id}", matter_id=matter_id),
                       hint=msg("list the agency's matters with `evidence matter list`"))
    return row.agency_code, row.name, {
        "name": row.name, "legal_basis": row.legal_basis, "procedure": row.procedure,
        "time_limit_days": row.time_limit_days, "remedy": row.remedy}


def _officer_content(conn: Connection, number: str, public_name: str | None
                     ) -> tuple[str, str, dict[str, Any]]:
    c, u = tables.enforcement_certificates, tables.users
    row = conn.execute(select(c, u.c.unit_code, u.c.revoked_at).join(u, u.c.name == c.c.user_name)
                       .where(c.c.number == number)).first()
    if row is None or row.revoked_at is not None:
        raise NotFound(msg("there is no certificate {number} of an active officer", number=number),
                       hint=msg("record it with `evidence certificate add`"))
    agency = access.unit_agency(conn, row.unit_code) or ""
    if public_name is None:
        p = tables.public_entries
        old = conn.execute(select(p.c.title).where(p.c.kind == ListKind.OFFICERS.value,
                                                   p.c.entry_id == number)).scalar()
        if old is None:
            raise InvalidRequest(msg("an officer is published under the name the public sees"),
                                 hint=msg("give the officer's name as printed on the certificate"))
        public_name = old
    name = clean_text(public_name, "officer's public name", PUBLIC_NAME_MAX)
    return agency, name, {"name": name, "certificate_number": row.number,
                          "issuing_body": row.issuing_body,
                          "valid_from": row.valid_from.isoformat(),
                          "valid_to": row.valid_to.isoformat()}


def _content(conn: Connection, kind: ListKind, entry_id: str, public_name: str | None
             ) -> tuple[str, str, dict[str, Any]]:
    """(agency, title, public fields) of an entry as it is now."""
    if kind is ListKind.MATTERS:
        return _matter_content(conn, entry_id)
    if kind is ListKind.OFFICERS:
        return _officer_content(conn, entry_id, public_name)
    if kind is ListKind.INSPECTIONS:
        item = inspection_of(conn, entry_id)
        return item.agency_code, item.name, item.public()
    guide = guide_of(conn, entry_id)
    p = tables.public_entries
    if conn.execute(select(p.c.entry_id).where(p.c.kind == ListKind.MATTERS.value,
                                               p.c.entry_id == guide.matter_id)).first() is None:
        raise InvalidRequest(msg("the guide's matter {matter!r} is not published",
                                 matter=guide.matter_name),
                             hint=msg("publish the matter first"))
    return guide.agency_code, guide.title, guide.public()


def _may_publish(user: User, agency: str) -> None:
    require_org_admin(user, agency, msg("publish the lists of agency {agency}", agency=agency))


def publish(log: CustodyLog, user: User, kind: ListKind, entry_id: str, *,
            public_name: str | None = None, now: datetime | None = None) -> PublicEntry:
    """Put an entry on the public site as it is now, or replace its published copy
    (``org:public-entry:published``). An officer needs ``public_name`` the first time."""
    moment = now or datetime.now(UTC)
    p = tables.public_entries
    with write_transaction(log.engine) as conn:
        agency, title, content = _content(conn, kind, entry_id, public_name)
        _may_publish(user, agency)
        where = (p.c.kind == kind.value, p.c.entry_id == entry_id)
        old = conn.execute(select(p.c.content, p.c.title).where(*where)).first()
        text = _canonical(content)
        if old is not None and old.content == text:
            raise InvalidRequest(msg("{title!r} is already published as it is", title=title),
                                 hint=msg("change it first, or withdraw it"))
        values = {"agency_code": agency, "title": title, "content": text, "published_at": moment,
                  "published_by": user.name}
        if old is None:
            conn.execute(insert(p).values(kind=kind.value, entry_id=entry_id, **values))
        else:
            conn.execute(update(p).where(*where).values(**values))
        log.append([EventDraft(EventType.PUBLIC_ENTRY_PUBLISHED, user.actor, None, {
            "kind": kind.value, "entry_id": entry_id, "agency": agency, "title": title,
            "content": content, "replaces": None if old is None else json.loads(old.content)},
            moment)], conn)
    return PublicEntry(kind, entry_id, agency, title, content, moment)


def withdraw(log: CustodyLog, user: User, kind: ListKind, entry_id: str, reason: str,
             now: datetime | None = None) -> None:
    """Take an entry off the public site (``org:public-entry:withdrawn``, with the reason)."""
    why = clean_text(reason, "reason", TEXT_MAX)
    moment = now or datetime.now(UTC)
    p = tables.public_entries
    where = (p.c.kind == kind.value, p.c.entry_id == entry_id)
    with write_transaction(log.engine) as conn:
        row = conn.execute(select(p).where(*where)).first()
        if row is None:
            raise NotFound(msg("{kind} entry {entry_id} is not published", kind=kind.value,
                               entry_id=entry_id),
                           hint=msg("list what is published with `evidence publication list`"))
        _may_publish(user, row.agency_code)
        if kind is ListKind.MATTERS:
            _refuse_if_guides_published(conn, entry_id)
        conn.execute(delete(p).where(*where))
        log.append([EventDraft(EventType.PUBLIC_ENTRY_WITHDRAWN, user.actor, None, {
            "kind": kind.value, "entry_id": entry_id, "agency": row.agency_code,
            "title": row.title, "reason": why}, moment)], conn)


def _refuse_if_guides_published(conn: Connection, matter_id: str) -> None:
    g, p = tables.service_guides, tables.public_entries
    titles = conn.execute(select(p.c.title).join(g, g.c.id == p.c.entry_id).where(
        p.c.kind == ListKind.GUIDES.value, g.c.matter_id == matter_id)).scalars().all()
    if titles:
        raise InvalidRequest(msg("published service guides belong to this matter: {titles}",
                                 titles=", ".join(titles)),
                             hint=msg("withdraw those guides first"))


def list_status(engine: Engine, user: User, agency_code: str, kind: ListKind
                ) -> list[EntryStatus]:
    """Every entry of one of the agency's lists, published or not, for its admins."""
    _may_publish(user, agency_code)
    p = tables.public_entries
    with engine.connect() as conn:
        published = {r.entry_id: r for r in conn.execute(select(p).where(
            p.c.kind == kind.value, p.c.agency_code == agency_code))}
        result = []
        for entry_id in _entry_ids(conn, agency_code, kind):
            row = published.get(entry_id)
            holder = None
            if kind is ListKind.OFFICERS:
                holder = conn.execute(select(tables.enforcement_certificates.c.user_name).where(
                    tables.enforcement_certificates.c.number == entry_id)).scalar()
                title = "" if row is None else row.title
                content = _officer_content(conn, entry_id, title or "-")[2]
            elif kind is ListKind.GUIDES:
                guide = guide_of(conn, entry_id)
                title, content = guide.title, guide.public()
            else:
                _, title, content = _content(conn, kind, entry_id, None)
            result.append(EntryStatus(kind, entry_id, title,
                                      None if row is None else aware(row.published_at),
                                      row is not None and row.content == _canonical(content),
                                      holder))
    return result


def _entry_ids(conn: Connection, agency: str, kind: ListKind) -> list[str]:
    if kind is ListKind.MATTERS:
        m = tables.enforcement_matters
        return list(conn.execute(select(m.c.id).where(m.c.agency_code == agency)
                                 .order_by(m.c.name)).scalars())
    if kind is ListKind.INSPECTIONS:
        i = tables.inspection_items
        return list(conn.execute(select(i.c.id).where(i.c.agency_code == agency)
                                 .order_by(i.c.name)).scalars())
    if kind is ListKind.GUIDES:
        g = tables.service_guides
        return list(conn.execute(select(g.c.id).where(g.c.agency_code == agency)
                                 .order_by(g.c.title)).scalars())
    c, u, un = tables.enforcement_certificates, tables.users, tables.units
    return list(conn.execute(select(c.c.number).join(u, u.c.name == c.c.user_name)
                             .join(un, un.c.code == u.c.unit_code)
                             .where(un.c.agency_code == agency, u.c.revoked_at.is_(None))
                             .order_by(c.c.number)).scalars())


# --- what anyone may read ----------------------------------------------------------------------

def _active_officers(query: Any) -> Any:
    """Keep officers whose certificate's holder is still an active account."""
    p, c, u = tables.public_entries, tables.enforcement_certificates, tables.users
    live = select(c.c.number).join(u, u.c.name == c.c.user_name).where(u.c.revoked_at.is_(None))
    return query.where((p.c.kind != ListKind.OFFICERS.value) | p.c.entry_id.in_(live))


def _entry_of(row: Any) -> PublicEntry:
    return PublicEntry(ListKind(row.kind), row.entry_id, row.agency_code, row.title,
                       json.loads(row.content), aware(row.published_at))


def public_agencies(engine: Engine) -> list[PublicAgency]:
    """The agencies with anything published, with how many entries each list has."""
    p, a = tables.public_entries, tables.agencies
    query = _active_officers(select(p.c.agency_code, a.c.name, p.c.kind, func.count())
                             .join(a, a.c.code == p.c.agency_code)
                             .group_by(p.c.agency_code, a.c.name, p.c.kind))
    agencies: dict[str, PublicAgency] = {}
    with engine.connect() as conn:
        for code, name, kind, count in conn.execute(query):
            agencies.setdefault(code, PublicAgency(code, name, {k: 0 for k in ListKind}))
            agencies[code].counts[ListKind(kind)] = count
    return sorted(agencies.values(), key=lambda agency: agency.code)


def public_agency(engine: Engine, agency_code: str) -> PublicAgency:
    """One agency with anything published; NotFound otherwise (unpublished ones stay unknown)."""
    for agency in public_agencies(engine):
        if agency.code == agency_code:
            return agency
    raise NotFound(msg("no agency {agency_code!r} publishes anything", agency_code=agency_code),
                   hint=msg("see the list of agencies on the public site"))


def public_list(engine: Engine, agency_code: str, kind: ListKind) -> list[PublicEntry]:
    p = tables.public_entries
    query = _active_officers(select(p).where(p.c.agency_code == agency_code,
                                             p.c.kind == kind.value)
                             .order_by(p.c.title, p.c.entry_id))
    with engine.connect() as conn:
        return [_entry_of(r) for r in conn.execute(query)]


def public_entry(engine: Engine, kind: ListKind, entry_id: str) -> PublicEntry:
    p = tables.public_entries
    query = _active_officers(select(p).where(p.c.kind == kind.value, p.c.entry_id == entry_id))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise NotFound(msg("nothing published under {entry_id}", entry_id=entry_id),
                       hint=msg("see the agency's lists on the public site"))
    return _entry_of(row)


def check_certificate(engine: Engine, number: str, today: date) -> CertificateCheck:
    """Is a shown certificate (亮证) valid today? Only published officers are known."""
    number = number.strip()
    p, a = tables.public_entries, tables.agencies
    query = _active_officers(select(p, a.c.name.label("agency_name"))
                             .join(a, a.c.code == p.c.agency_code)
                             .where(p.c.kind == ListKind.OFFICERS.value, p.c.entry_id == number))
    with engine.connect() as conn:
        row = conn.execute(query).first() if 0 < len(number) <= 64 else None
    if row is None:
        return CertificateCheck(number, CertificateStatus.UNKNOWN, None, None)
    entry = _entry_of(row)
    valid_from = date.fromisoformat(entry.content["valid_from"])
    valid_to = date.fromisoformat(entry.content["valid_to"])
    status = (CertificateStatus.NOT_YET_VALID if today < valid_from
              else CertificateStatus.EXPIRED if today > valid_to else CertificateStatus.VALID)
    return CertificateCheck(number, status, entry, row.agency_name)

