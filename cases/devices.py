"""The device registry: which recorder belongs to which officer and unit.

Implemented once; `evidence device register` and ``POST /api/v1/devices`` both
call ``register_device``, so the same registration leaves the same custody event
(``station:device:registered``) from either. The docking station reads the
registry through ``registry_entries``; footage of a registered recorder belongs
to its unit.

Who may register: the operator any recorder; an admin a recorder of a unit of
their agency (and, re-registering one, only a recorder their agency holds).
Who may list: the operator and auditors of every agency all of them; everyone
else allowed to list devices, their agency's (an auditor: the agency they audit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, func, insert, select, update

from cases import access, tables
from cases.errors import Conflict, InvalidRequest
from cases.organisation import check_name, require_admin_role, require_org_admin
from cases.text import REASON_MAX, clean_optional, clean_text
from cases.times import aware
from cases.users import ALL_AGENCIES, OFFICER_NO_PATTERN, Role, User
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.errors import AlreadyExists, NotFound
from domain.event_types import EventType
from domain.messages import msg
from domain.recorder import RegistryEntry
from storage import catalog
from storage.db import database_errors, write_transaction

SERIAL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
LABEL_MAX = 128
_SERIAL_RE = re.compile(SERIAL_PATTERN)
_OFFICER_NO_RE = re.compile(OFFICER_NO_PATTERN)


@dataclass(frozen=True)
class Device:
    serial: str
    officer_no: str | None
    officer_name: str | None
    unit_code: str | None
    unit_name: str | None  # the unit's name (or the free text of a registration before units)
    agency_code: str | None
    label: str | None
    registered_at: datetime
    retired_at: datetime | None = None
    retired_by: str | None = None
    retired_reason: str | None = None


def _check(serial: str, officer_no: str, officer_name: str | None,
           label: str | None) -> tuple[str | None, str | None]:
    if not _SERIAL_RE.fullmatch(serial):
        raise InvalidRequest(msg("recorder serial {serial!r} is not allowed", serial=serial),
                             hint=msg("use 1-64 letters, digits, '.', '_' or '-' (e.g. ZFY0001)"))
    if not _OFFICER_NO_RE.fullmatch(officer_no):
        raise InvalidRequest(msg("officer number {officer_no!r} is not allowed", officer_no=officer_no),
                             hint=msg("use 1-64 letters, digits, '.', '_' or '-' (e.g. 100234)"))
    name = check_name(officer_name, "officer") if officer_name is not None else None
    return name, clean_optional(label, msg("volume label"), LABEL_MAX)


def register_device(log: CustodyLog, by: User, serial: str, officer_no: str, unit_code: str,
                    officer_name: str | None = None, label: str | None = None,
                    now: datetime | None = None) -> Device:
    """Map recorder ``serial`` to an officer and a unit (event ``station:device:registered``).

    Registering a serial again replaces its entry. A volume label names one recorder.
    """
    require_admin_role(by, msg("register recorders"))
    officer_name, label = _check(serial, officer_no, officer_name, label)
    moment = now or datetime.now(UTC)
    d = catalog.devices
    with database_errors(msg("registering a device")), write_transaction(log.engine) as conn:
        unit = conn.execute(select(tables.units).where(tables.units.c.code == unit_code)).first()
        if unit is None:
            raise NotFound(msg("there is no unit {unit_code!r}", unit_code=unit_code),
                           hint=msg("list units with `evidence unit list`"))
        require_org_admin(by, unit.agency_code, msg("register recorders to unit {unit_code}",
                                                    unit_code=unit_code))
        previous = conn.execute(select(d.c.unit_code, tables.units.c.agency_code)
                                .select_from(d.outerjoin(tables.units,
                                                         tables.units.c.code == d.c.unit_code))
                                .where(d.c.serial == serial)).first()
        if previous is not None and previous.agency_code is not None:
            require_org_admin(by, previous.agency_code,
                              msg("take recorder {serial} from unit {unit_code}", serial=serial,
                                  unit_code=previous.unit_code))
        if label is not None and conn.execute(select(d.c.serial).where(
                (func.lower(d.c.label) == label.lower()) & (d.c.serial != serial))).first():
            raise AlreadyExists(msg("another recorder is registered with the volume label {label!r}",
                                    label=label),
                                hint=msg("a label names one recorder; check the label, or register that "
                                         "recorder again without it"))
        conn.execute(d.delete().where(d.c.serial == serial))
        conn.execute(insert(d).values(serial=serial, officer_no=officer_no,
                                      officer_name=officer_name, unit=None, unit_code=unit_code,
                                      label=label, registered_at=moment))
        log.append([EventDraft(EventType.DEVICE_REGISTERED, by.actor, details={
            "serial": serial, "officer_no": officer_no, "officer_name": officer_name,
            "unit": unit_code, "label": label}, time=moment)], conn)
    return Device(serial, officer_no, officer_name, unit_code, unit.name, unit.agency_code, label,
                  moment)


def _registry_query() -> Any:
    d, units = catalog.devices, tables.units
    return select(d, units.c.name.label("unit_title"), units.c.agency_code).select_from(
        d.outerjoin(units, units.c.code == d.c.unit_code)).order_by(d.c.serial)


def _device(row: Row[Any]) -> Device:
    return Device(row.serial, row.officer_no, row.officer_name, row.unit_code,
                  row.unit_title if row.unit_title is not None else row.unit, row.agency_code,
                  row.label, aware(row.registered_at),
                  aware(row.retired_at) if row.retired_at is not None else None,
                  row.retired_by, row.retired_reason)


def _visible_agency(user: User) -> str | None:
    """The one agency whose recorders ``user`` may list; None for every agency."""
    if user.operator or (user.role is Role.AUDITOR and user.auditor_scope == ALL_AGENCIES):
        return None
    if user.role is Role.AUDITOR:
        return user.auditor_scope or ""
    return user.agency_code or ""


def list_devices(engine: Engine, user: User) -> list[Device]:
    """The registered recorders ``user`` may see, by serial."""
    if not user.operator:
        access.require_role(user, access.LIST_DEVICES, msg("list devices"))
    query = _registry_query()
    agency = _visible_agency(user)
    if agency is not None:
        query = query.where(tables.units.c.agency_code == agency)
    with database_errors(msg("reading the device registry")), engine.connect() as conn:
        return [_device(row) for row in conn.execute(query)]


def registry_entries(engine: Engine) -> dict[str, RegistryEntry]:
    """The docking station's view of the registry, keyed by serial and by volume label."""
    entries: dict[str, RegistryEntry] = {}
    with database_errors(msg("reading the device registry")), engine.connect() as conn:
        for row in conn.execute(_registry_query()):
            device = _device(row)
            entry = RegistryEntry(officer_no=device.officer_no, officer_name=device.officer_name,
                                  unit_name=device.unit_name, serial=device.serial,
                                  unit_code=device.unit_code)
            entries[device.serial] = entry
            if device.label:
                entries[device.label] = entry
    return entries


def _registered(conn: Any, serial: str) -> Row[Any]:
    row = conn.execute(_registry_query().where(catalog.devices.c.serial == serial)).first()
    if row is None:
        raise NotFound(msg("there is no registered recorder {serial!r}", serial=serial),
                       hint=msg("check the serial in the list of recorders (`evidence device list`)"))
    return row  # type: ignore[no-any-return]


def _require_holder(by: User, row: Row[Any], action: str) -> None:
    """The operator, or an admin of the agency holding the recorder (refused alike when the
    recorder is another agency's or has no unit)."""
    require_org_admin(by, row.agency_code or "", action)


def reassign_device(log: CustodyLog, by: User, serial: str, *, officer_no: str | None = None,
                    officer_name: str | None = None, unit_code: str | None = None,
                    now: datetime | None = None) -> Device:
    """Give a recorder to another officer or unit (event ``station:device:reassigned``,
    with what it was and what it is now). Footage already stored keeps its unit.

    An admin of the agency holding it, and of the new unit's; a retired recorder is
    registered again instead.
    """
    require_admin_role(by, msg("reassign recorders"))
    if officer_no is not None and not _OFFICER_NO_RE.fullmatch(officer_no):
        raise InvalidRequest(msg("officer number {officer_no!r} is not allowed", officer_no=officer_no),
                             hint=msg("use 1-64 letters, digits, '.', '_' or '-' (e.g. 100234)"))
    if officer_name is not None:
        officer_name = check_name(officer_name, "officer")
    moment = now or datetime.now(UTC)
    d = catalog.devices
    with database_errors(msg("reassigning a device")), write_transaction(log.engine) as conn:
        row = _registered(conn, serial)
        _require_holder(by, row, msg("reassign recorder {serial}", serial=row.serial))
        if row.retired_at is not None:
            raise Conflict(msg("recorder {serial} was retired on {aware}", serial=serial,
                               aware=aware(row.retired_at).isoformat()),
                           hint=msg("register it again to bring it back into use"))
        before = {"officer_no": row.officer_no, "officer_name": row.officer_name,
                  "unit": row.unit_code}
        after = dict(before)
        if officer_no is not None:
            after["officer_no"] = officer_no
            if officer_name is None and officer_no != row.officer_no:
                after["officer_name"] = None  # the old officer's name is not the new one's
        if officer_name is not None:
            after["officer_name"] = officer_name
        if unit_code is not None:
            after["unit"] = unit_code
        if after == before:
            raise InvalidRequest(msg("the request changes nothing of recorder {serial}", serial=serial),
                                 hint=msg("give a new officer number, officer name or unit"))
        unit = conn.execute(select(tables.units).where(tables.units.c.code == after["unit"])
                            ).first()
        if unit is None:
            raise NotFound(msg("there is no unit {unit!r}", unit=after['unit']),
                           hint=msg("list units with `evidence unit list`"))
        require_org_admin(by, unit.agency_code, msg("give recorders to unit {code}", code=unit.code))
        conn.execute(update(d).where(d.c.serial == serial).values(
            officer_no=after["officer_no"], officer_name=after["officer_name"],
            unit_code=after["unit"], unit=None))
        log.append([EventDraft(EventType.DEVICE_REASSIGNED, by.actor, details={
            "serial": serial, "before": before, "after": after}, time=moment)], conn)
        return _device(_registered(conn, serial))


def retire_device(log: CustodyLog, by: User, serial: str, reason: str,
                  now: datetime | None = None) -> Device:
    """Take a recorder out of use (event ``station:device:retired``, with the reason).

    It stays listed, as retired; footage it still brings to a dock is stored and belongs
    to its last unit, as before. Registering it again brings it back.
    """
    require_admin_role(by, msg("retire recorders"))
    reason = clean_text(reason, msg("reason for retiring the recorder"), REASON_MAX)
    moment = now or datetime.now(UTC)
    d = catalog.devices
    with database_errors(msg("retiring a device")), write_transaction(log.engine) as conn:
        row = _registered(conn, serial)
        _require_holder(by, row, msg("retire recorder {serial}", serial=row.serial))
        if row.retired_at is not None:
            raise Conflict(msg("recorder {serial} was already retired on {aware}", serial=serial,
                               aware=aware(row.retired_at).isoformat()))
        conn.execute(update(d).where(d.c.serial == serial).values(
            retired_at=moment, retired_by=by.actor, retired_reason=reason))
        log.append([EventDraft(EventType.DEVICE_RETIRED, by.actor, details={
            "serial": serial, "officer_no": row.officer_no, "unit": row.unit_code,
            "reason": reason}, time=moment)], conn)
        return _device(_registered(conn, serial))
