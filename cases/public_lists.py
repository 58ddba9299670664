"""The agency's random-inspection list (随机抽查事项清单) and its service guides (办事指南).

Its admins keep both here (the CLI ``evidence inspection ...``/``evidence guide ...`` and the
HTTP API call these functions; each change is one custody event); nothing here is public
until an admin publishes the entry (``cases.public_entries``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from cases import tables
from cases.errors import InvalidRequest
from cases.organisation import require_org_admin
from cases.text import clean_text
from cases.times import aware
from cases.users import User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import NotFound
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction

NAME_MAX = 200
TEXT_MAX = 2000
# A service guide's text, in characters: the most that fits in the API's 64 KiB JSON body
# even when every character is sent as an escaped surrogate pair (12 bytes).
BODY_MAX = 5000


@dataclass(frozen=True)
class InspectionItem:
    id: str
    agency_code: str
    name: str
    basis: str  # 检查依据
    subject: str  # 检查对象
    method: str  # 检查方式
    frequency: str  # 抽查比例和频次
    updated_at: datetime
    updated_by: str

    def public(self) -> dict[str, Any]:
        """What the public site shows of it (and what its custody events record)."""
        return {"name": self.name, "basis": self.basis, "subject": self.subject,
                "method": self.method, "frequency": self.frequency}


@dataclass(frozen=True)
class ServiceGuide:
    id: str
    agency_code: str
    matter_id: str
    matter_name: str
    title: str
    body: str
    updated_at: datetime
    updated_by: str

    def public(self) -> dict[str, Any]:
        return {"title": self.title, "body": self.body, "matter_id": self.matter_id,
                "matter": self.matter_name}


def long_text(value: str, what: str, max_length: int) -> str:
    """Text of several lines: each line checked as one-line text, blank lines kept between."""
    lines = [line.strip() for line in value.replace("\r\n", "\n").split("\n")]
    kept = [clean_text(line, what, max_length) if line else "" for line in lines]
    text = "\n".join(kept).strip("\n")
    if not text:
        clean_text(text, what, max_length)  # raises: nothing visible
    if len(text) > max_length:
        raise InvalidRequest(msg("the {what} is longer than {max_length} characters", what=what,
                                 max_length=max_length),
                             hint=msg("shorten it to {max_length} characters", max_length=max_length))
    return text


def _agency_exists(conn: Connection, agency_code: str) -> None:
    if conn.execute(select(tables.agencies.c.code).where(
            tables.agencies.c.code == agency_code)).first() is None:
        raise NotFound(msg("there is no agency {agency_code!r}", agency_code=agency_code),
                       hint=msg("list agencies with `evidence agency list`"))


def _edit_inspections(user: User, agency_code: str) -> None:
    require_org_admin(user, agency_code, msg("edit the random-inspection list of agency {agency}",
                                             agency=agency_code))


def _edit_guides(user: User, agency_code: str) -> None:
    require_org_admin(user, agency_code, msg("edit the service guides of agency {agency}",
                                             agency=agency_code))


# --- the random-inspection list ----------------------------------------------------------------

_INSPECTION_FIELDS = {"name": ("inspection item", NAME_MAX), "basis": ("legal basis", TEXT_MAX),
                      "subject": ("inspected subjects", TEXT_MAX),
                      "method": ("inspection method", TEXT_MAX),
                      "frequency": ("share and frequency", TEXT_MAX)}


def _inspection_event(item: InspectionItem) -> dict[str, Any]:
    return {"inspection_id": item.id, "agency": item.agency_code, **item.public()}


def add_inspection(log: CustodyLog, user: User, agency_code: str, *, name: str, basis: str,
                   subject: str, method: str, frequency: str,
                   now: datetime | None = None) -> InspectionItem:
    """An admin adds an item to the agency's random-inspection list (``org:inspection:added``)."""
    _edit_inspections(user, agency_code)
    given = {"name": name, "basis": basis, "subject": subject, "method": method,
             "frequency": frequency}
    values = {k: clean_text(v, *_INSPECTION_FIELDS[k]) for k, v in given.items()}
    moment = now or datetime.now(UTC)
    item = InspectionItem(str(uuid.uuid4()), agency_code, updated_at=moment,
                          updated_by=user.name, **values)
    with write_transaction(log.engine) as conn:
        _agency_exists(conn, agency_code)
        conn.execute(insert(tables.inspection_items).values(
            id=item.id, agency_code=agency_code, updated_at=moment, updated_by=user.name,
            **values))
        log.append([EventDraft(EventType.INSPECTION_ADDED, user.actor, None,
                               _inspection_event(item), moment)], conn)
    return item


def change_inspection(log: CustodyLog, user: User, item_id: str, *, name: str | None = None,
                      basis: str | None = None, subject: str | None = None,
                      method: str | None = None, frequency: str | None = None,
                      now: datetime | None = None) -> InspectionItem:
    """An admin changes an item (``org:inspection:changed``, before and after); a published
    copy stays as published until the admin publishes again."""
    given = {"name": name, "basis": basis, "subject": subject, "method": method,
             "frequency": frequency}
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        before = inspection_of(conn, item_id)
        _edit_inspections(user, before.agency_code)
        values = {k: clean_text(v, *_INSPECTION_FIELDS[k]) for k, v in given.items()
                  if v is not None}
        after = InspectionItem(**{**before.__dict__, **values, "updated_at": moment,
                                  "updated_by": user.name})
        if after.public() == before.public():
            raise InvalidRequest(msg("nothing to change"), hint=msg("give at least one new value"))
        conn.execute(update(tables.inspection_items).where(
            tables.inspection_items.c.id == item_id).values(
            updated_at=moment, updated_by=user.name, **values))
        log.append([EventDraft(EventType.INSPECTION_CHANGED, user.actor, None, {
            "before": _inspection_event(before), "after": _inspection_event(after)}, moment)],
            conn)
    return after


def remove_inspection(log: CustodyLog, user: User, item_id: str,
                      now: datetime | None = None) -> None:
    """An admin removes an item, and its published copy with it (``org:inspection:removed``)."""
    moment = now or datetime.now(UTC)
    p = tables.public_entries
    with write_transaction(log.engine) as conn:
        item = inspection_of(conn, item_id)
        _edit_inspections(user, item.agency_code)
        was_public = conn.execute(delete(p).where(p.c.kind == "inspections",
                                                  p.c.entry_id == item_id)).rowcount > 0
        conn.execute(delete(tables.inspection_items).where(
            tables.inspection_items.c.id == item_id))
        log.append([EventDraft(EventType.INSPECTION_REMOVED, user.actor, None, {
            **_inspection_event(item), "was_public": was_public}, moment)], conn)


def list_inspections(engine: Engine, user: User, agency_code: str) -> list[InspectionItem]:
    _edit_inspections(user, agency_code)
    i = tables.inspection_items
    with engine.connect() as conn:
        rows = conn.execute(select(i).where(i.c.agency_code == agency_code)
                            .order_by(i.c.name, i.c.id)).all()
    return [_inspection_of(r) for r in rows]


def _inspection_of(r: Any) -> InspectionItem:
    return InspectionItem(r.id, r.agency_code, r.name, r.basis, r.subject, r.method,
                          r.frequency, aware(r.updated_at), r.updated_by)


def inspection_of(conn: Connection, item_id: str) -> InspectionItem:
    i = tables.inspection_items
    row = conn.execute(select(i).where(i.c.id == item_id)).first()
    if row is None:
        raise NotFound(msg("there is no inspection item {item_id}", item_id=item_id),
                       hint=msg("list them with `evidence inspection list`"))
    return _inspection_of(row)


# --- service guides ----------------------------------------------------------------------------

def _guide_event(guide: ServiceGuide) -> dict[str, Any]:
    return {"guide_id": guide.id, "agency": guide.agency_code, **guide.public()}


def _matter_name(conn: Connection, agency_code: str, matter_id: str) -> str:
    m = tables.enforcement_matters
    row = conn.execute(select(m.c.name, m.c.agency_code).where(m.c.id == matter_id)).first()
    if row is None or row.agency_code != agency_code:
        raise NotFound(msg("agency {agency} lists no enforcement matter {matter_id}",
                           agency=agency_code, matter_id=matter_id),
                       hint=msg("give a matter from the agency's list (`evidence matter list`)"))
    name: str = row.name
    return name


def add_guide(log: CustodyLog, user: User, agency_code: str, *, matter_id: str, title: str,
              body: str, now: datetime | None = None) -> ServiceGuide:
    """An admin writes a service guide for one of the agency's matters (``org:guide:added``)."""
    _edit_guides(user, agency_code)
    clean_title, clean_body = clean_text(title, "guide title", NAME_MAX), long_text(
        body, "guide text", BODY_MAX)
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        _agency_exists(conn, agency_code)
        guide = ServiceGuide(str(uuid.uuid4()), agency_code, matter_id,
                             _matter_name(conn, agency_code, matter_id), clean_title, clean_body,
                             moment, user.name)
        conn.execute(insert(tables.service_guides).values(
            id=guide.id, agency_code=agency_code, matter_id=matter_id, title=clean_title,
            body=clean_body, updated_at=moment, updated_by=user.name))
        log.append([EventDraft(EventType.GUIDE_ADDED, user.actor, None, _guide_event(guide),
                               moment)], conn)
    return guide


def change_guide(log: CustodyLog, user: User, guide_id: str, *, matter_id: str | None = None,
                 title: str | None = None, body: str | None = None,
                 now: datetime | None = None) -> ServiceGuide:
    """An admin changes a guide (``org:guide:changed``); its published copy waits for a new
    publication."""
    moment = now or datetime.now(UTC)
    with write_transaction(log.engine) as conn:
        before = guide_of(conn, guide_id)
        _edit_guides(user, before.agency_code)
        new_matter = matter_id if matter_id is not None else before.matter_id
        after = ServiceGuide(
            before.id, before.agency_code, new_matter,
            _matter_name(conn, before.agency_code, new_matter),
            clean_text(title, "guide title", NAME_MAX) if title is not None else before.title,
            long_text(body, "guide text", BODY_MAX) if body is not None else before.body,
            moment, user.name)
        if after.public() == before.public():
            raise InvalidRequest(msg("nothing to change"), hint=msg("give at least one new value"))
        conn.execute(update(tables.service_guides).where(tables.service_guides.c.id == guide_id)
                     .values(matter_id=after.matter_id, title=after.title, body=after.body,
                             updated_at=moment, updated_by=user.name))
        log.append([EventDraft(EventType.GUIDE_CHANGED, user.actor, None, {
            "before": _guide_event(before), "after": _guide_event(after)}, moment)], conn)
    return after


def remove_guide(log: CustodyLog, user: User, guide_id: str,
                 now: datetime | None = None) -> None:
    """An admin removes a guide and its published copy (``org:guide:removed``)."""
    moment = now or datetime.now(UTC)
    p = tables.public_entries
    with write_transaction(log.engine) as conn:
        guide = guide_of(conn, guide_id)
        _edit_guides(user, guide.agency_code)
        was_public = conn.execute(delete(p).where(p.c.kind == "guides",
                                                  p.c.entry_id == guide_id)).rowcount > 0
        conn.execute(delete(tables.service_guides).where(tables.service_guides.c.id == guide_id))
        log.append([EventDraft(EventType.GUIDE_REMOVED, user.actor, None, {
            **_guide_event(guide), "was_public": was_public}, moment)], conn)


def list_guides(engine: Engine, user: User, agency_code: str) -> list[ServiceGuide]:
    _edit_guides(user, agency_code)
    g = tables.service_guides
    with engine.connect() as conn:
        ids = conn.execute(select(g.c.id).where(g.c.agency_code == agency_code)
                           .order_by(g.c.title, g.c.id)).scalars().all()
        return [guide_of(conn, i) for i in ids]


def guide_of(conn: Connection, guide_id: str) -> ServiceGuide:
    g, m = tables.service_guides, tables.enforcement_matters
    row = conn.execute(select(g, m.c.name.label("matter_name")).join(m, m.c.id == g.c.matter_id)
                       .where(g.c.id == guide_id)).first()
    if row is None:
        raise NotFound(msg("there is no service guide {guide_id}", guide_id=guide_id),
                       hint=msg("list them with `evidence guide list`"))
    return ServiceGuide(row.id, row.agency_code, row.matter_id, row.matter_name, row.title,
                        row.body, aware(row.updated_at), row.updated_by)
