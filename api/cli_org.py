"""`evidence agency|unit|device ...`: the organisation and the device registry, as the operator.

Each command calls the one domain function the HTTP API calls too, acting as
``cli_operator()``. Names may be Chinese; they are printed as plain text (no
Rich markup, control characters escaped: api/cli_text.py), since a name is data, not formatting.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli_service import cli_operator, open_case_home
from api.cli_text import cells, console, emit_json, inert
from cases.devices import list_devices, reassign_device, register_device, retire_device
from cases.organisation import (
    add_agency,
    add_unit,
    list_agencies,
    list_units,
    parse_level,
    set_case_number_rule,
)

agency_app = typer.Typer(help="Enforcement agencies (执法机关) of the region.", no_args_is_help=True)
unit_app = typer.Typer(help="Units (field offices, teams) of an agency.", no_args_is_help=True)
device_app = typer.Typer(help="The device registry: recorders, their officers and units.",
                         no_args_is_help=True)
_out = console()

JsonOption = Annotated[bool, typer.Option("--json", help="JSON lines.")]


def _emit(obj: dict[str, Any]) -> None:
    emit_json(obj)


def _table(*columns: str, rows: list[list[str | None]]) -> Table:
    table = Table(*columns)
    for row in rows:
        table.add_row(*cells(*row))
    return table


@agency_app.command("add")
def agency_add(
    code: Annotated[str, typer.Argument(help="Short ASCII code, e.g. hhht-gaj.")],
    name: Annotated[str, typer.Option(help="The agency's name, e.g. 呼和浩特市公安局.")],
    level: Annotated[str, typer.Option(help="region, city or county.")],
    parent: Annotated[str | None, typer.Option(help="Code of the agency it sits under.")] = None,
) -> None:
    """Add an agency (logged)."""
    home = open_case_home()
    agency = add_agency(home.custody_log(), cli_operator(), code, name, parse_level(level), parent)
    under = f" under {agency.parent_code}" if agency.parent_code else ""
    _out.print(inert(f"added agency {agency.code} ({agency.name}, {agency.level.value}){under}"))


@agency_app.command("list")
def agency_list(as_json: JsonOption = False) -> None:
    """Every agency."""
    agencies = list_agencies(open_case_home().engine(), cli_operator())
    if as_json:
        for a in agencies:
            _emit({"code": a.code, "name": a.name, "level": a.level.value, "parent": a.parent_code,
                   "created_at": a.created_at.isoformat(),
                   "case_number_pattern": a.case_rule.pattern,
                   "case_number_rule": a.case_rule.rule})
        return
    _out.print(_table("code", "name", "level", "parent",
                      rows=[[a.code, a.name, a.level.value, a.parent_code] for a in agencies]))


@agency_app.command("case-rule")
def agency_case_rule(
    code: Annotated[str, typer.Argument(help="The agency's code.")],
    pattern: Annotated[str | None, typer.Option(
        help="Regular expression the whole case number must match, e.g. "
             "'[^\\W_]{1,4}刑\\d{4}-\\d{3}'.")] = None,
    rule: Annotated[str | None, typer.Option(
        help="The rule in words, shown when a number is refused.")] = None,
    default: Annotated[bool, typer.Option("--default", help="Back to the default rule.")] = False,
) -> None:
    """Set the rule the agency's case numbers follow (logged; the same as PUT
    /api/v1/agencies/{code}/case-number-rule)."""
    if default == (pattern is not None):
        raise typer.BadParameter("give --pattern and --rule, or --default")
    home = open_case_home()
    agency = set_case_number_rule(home.custody_log(), cli_operator(), code, pattern, rule)
    rule_now = agency.case_rule
    _out.print(inert(f"agency {agency.code}: case numbers follow "
                     f"{'the default rule' if rule_now.default else 'its own rule'}: "
                     f"{rule_now.rule} ({rule_now.pattern})"))


@unit_app.command("add")
def unit_add(
    code: Annotated[str, typer.Argument(help="Short ASCII code, unique in the region.")],
    agency: Annotated[str, typer.Option(help="Code of the agency it belongs to.")],
    name: Annotated[str, typer.Option(help="The unit's name.")],
) -> None:
    """Add a unit to an agency (logged)."""
    home = open_case_home()
    unit = add_unit(home.custody_log(), cli_operator(), code, agency, name)
    _out.print(inert(f"added unit {unit.code} ({unit.name}) to agency {unit.agency_code}"))


@unit_app.command("list")
def unit_list(
    agency: Annotated[str | None, typer.Option(help="Only this agency's units.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every unit (of one agency)."""
    units = list_units(open_case_home().engine(), cli_operator(), agency)
    if as_json:
        for u in units:
            _emit({"code": u.code, "agency": u.agency_code, "name": u.name,
                   "created_at": u.created_at.isoformat()})
        return
    _out.print(_table("code", "agency", "name", rows=[[u.code, u.agency_code, u.name]
                                                       for u in units]))


@device_app.command("register")
def device_register(
    serial: Annotated[str, typer.Argument(help="Recorder serial number.")],
    officer: Annotated[str, typer.Option(help="Officer number.")],
    unit: Annotated[str, typer.Option(help="Code of the unit the recorder belongs to.")],
    name: Annotated[str | None, typer.Option(help="Officer name.")] = None,
    label: Annotated[str | None, typer.Option(help="Volume label or UUID of the recorder.")] = None,
) -> None:
    """Map a recorder to its officer and unit (logged); again for a serial replaces its entry."""
    home = open_case_home()
    device = register_device(home.custody_log(), cli_operator(), serial, officer, unit, name, label)
    _out.print(inert(f"registered {device.serial} to officer {device.officer_no} of unit "
                     f"{device.unit_code}"))


@device_app.command("reassign")
def device_reassign(
    serial: Annotated[str, typer.Argument(help="Recorder serial number.")],
    officer: Annotated[str | None, typer.Option(help="The new officer's number.")] = None,
    name: Annotated[str | None, typer.Option(help="The new officer's name.")] = None,
    unit: Annotated[str | None, typer.Option(help="Code of the new unit.")] = None,
) -> None:
    """Give a recorder to another officer or unit (logged with before and after; the same as
    PATCH /api/v1/devices/{serial})."""
    home = open_case_home()
    device = reassign_device(home.custody_log(), cli_operator(), serial, officer_no=officer,
                             officer_name=name, unit_code=unit)
    _out.print(inert(f"reassigned {device.serial} to officer {device.officer_no} of unit "
                     f"{device.unit_code}"))


@device_app.command("retire")
def device_retire(
    serial: Annotated[str, typer.Argument(help="Recorder serial number.")],
    reason: Annotated[str, typer.Option(help="Why (lost, broken, replaced); logged.")],
) -> None:
    """Take a recorder out of use (logged; the same as DELETE /api/v1/devices/{serial}).
    Registering it again brings it back."""
    home = open_case_home()
    device = retire_device(home.custody_log(), cli_operator(), serial, reason)
    _out.print(inert(f"retired {device.serial}"))


@device_app.command("list")
def device_list(as_json: JsonOption = False) -> None:
    """The registered recorders."""
    devices = list_devices(open_case_home().engine(), cli_operator())
    if as_json:
        for d in devices:
            _emit({"serial": d.serial, "officer_no": d.officer_no, "officer_name": d.officer_name,
                   "unit": d.unit_code, "unit_name": d.unit_name, "agency": d.agency_code,
                   "label": d.label, "registered_at": d.registered_at.isoformat(),
                   "retired_at": d.retired_at.isoformat() if d.retired_at else None,
                   "retired_reason": d.retired_reason})
        return
    _out.print(_table("serial", "officer", "name", "unit", "agency", "label", "retired",
                      rows=[[d.serial, d.officer_no, d.officer_name, d.unit_code, d.agency_code,
                             d.label, d.retired_at.isoformat() if d.retired_at else None]
                            for d in devices]))
