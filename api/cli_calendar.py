"""`evidence calendar ...`: the official calendar's years, a year entered from the State
Council's notice, and a deadline counted on it, as the operator (the functions the HTTP API
calls too)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.table import Table

from api.cli_service import cli_operator, open_case_home
from api.cli_text import cells, console, emit_json, inert
from cases.calendar_admin import enter_year, list_years, parse_days
from cases.errors import InvalidRequest
from cases.workdays import add_working_days, local_day
from domain.messages import msg

calendar_app = typer.Typer(help="The official calendar (State Council holidays and adjusted "
                                "working days) that working-day deadlines count on.",
                           no_args_is_help=True)
_out = console()


@calendar_app.command("list")
def calendar_list(as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False
                  ) -> None:
    """The years around this one and every entered year: known from the package, entered (by
    whom, from which notice), or unknown (deadlines into it are unconfirmed)."""
    years = list_years(open_case_home().engine(), cli_operator(), local_day(datetime.now(UTC)))
    if as_json:
        for y in years:
            emit_json({"year": y.year, "source": y.source.value, "known": y.known,
                       "notice": y.notice, "entered_by": y.entered_by,
                       "entered_at": y.entered_at.isoformat() if y.entered_at else None,
                       "holidays": [d.isoformat() for d in y.holidays],
                       "workdays": [d.isoformat() for d in y.workdays]})
        return
    table = Table("year", "source", "notice", "entered by")
    for y in years:
        table.add_row(*cells(str(y.year), y.source.value, y.notice, y.entered_by))
    _out.print(table)


@calendar_app.command("enter")
def calendar_enter(
    year: Annotated[int, typer.Argument(help="The year the notice is for, e.g. 2027.")],
    notice: Annotated[str, typer.Option(help="The notice's title and number, e.g. 国务院办公厅关于"
                                             "2027年部分节假日安排的通知（国办发明电〔2026〕X号）.")],
    holiday: Annotated[list[str], typer.Option(
        help="A holiday day (2027-01-01) or run (2027-02-05..2027-02-11); repeat.")],
    workday: Annotated[list[str] | None, typer.Option(
        help="A Saturday or Sunday the notice makes a working day (上班); repeat.")] = None,
) -> None:
    """Enter (or correct) a year's holidays and adjusted working days from the notice (logged)."""
    entered = enter_year(open_case_home().custody_log(), cli_operator(), year, parse_days(holiday),
                         parse_days(workday or []), notice)
    _out.print(inert(f"entered the calendar of {entered.year}: {len(entered.holidays)} holiday(s), "
                     f"{len(entered.workdays)} adjusted working day(s), from {entered.notice}"))


@calendar_app.command("due")
def calendar_due(
    start: Annotated[str, typer.Argument(help="The day the time limit starts from (not counted), "
                                              "e.g. 2026-09-30.")],
    days: Annotated[int, typer.Argument(help="Working days, e.g. 7.", min=0, max=10000)],
) -> None:
    """The day a time limit of DAYS working days after START ends, and whether it is confirmed."""
    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise InvalidRequest(msg("{value!r} is not a day", value=start),
                             hint=msg("write a day as 2026-09-30")) from None
    with open_case_home().engine().connect() as conn:
        due = add_working_days(conn, first, days)
    state = "confirmed" if due.confirmed else \
        "UNCONFIRMED (未确认): it runs into a year whose official calendar is not known yet"
    _out.print(f"{due.day.isoformat()} {state}")
