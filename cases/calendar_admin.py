"""The official calendar's years, and an admin's entry of a year the library does not know.

The State Council publishes each year's holidays and adjusted working days (调休) in a notice
(国务院办公厅关于…年部分节假日安排的通知). A year the chinese-calendar library was not
published for is entered from that notice: its holidays, its adjusted working days, and the
notice's title and number. Until then counts into that year are unconfirmed (cases/workdays.py).

Who may enter: the command line's operator, or an admin of a region-level (top-level) agency.
The calendar is one for the whole region: an entry changes every agency's deadlines, so it is
not left to the admin of one city or county agency. Any admin may list the years (they see
whether their deadlines are confirmed).

An entry for a year the library knows is refused unless it makes the same days working days
(the library is the published schedule; a different entry is a typing error). Entering a year
again replaces the earlier entry (a correction), and the event names the notice it replaces.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, delete, insert, select

from cases import tables
from cases.errors import AccessDenied, Conflict, InvalidRequest
from cases.organisation import Level, get_agency, require_admin_role
from cases.text import clean_text
from cases.times import aware
from cases.users import User
from cases.workdays import (
    KNOWN_SOURCES,
    OfficialCalendar,
    YearSource,
    library_schedule,
    library_years,
    load_calendar,
    same_schedule,
)
from custody.events import EventDraft
from custody.log import CustodyLog
from domain.event_types import EventType
from domain.messages import msg
from storage.db import write_transaction

NOTICE_MAX = 200
FIRST_YEAR, LAST_YEAR = 2000, 2100  # what an entry may name: a typo's year is refused
MAX_RUN = 30  # days in one written run of holidays, less one
SHOWN_BEFORE, SHOWN_AFTER = 2, 1  # the years listed around this year, besides entered ones


@dataclass(frozen=True)
class CalendarYear:
    """One year of the official calendar as the list shows it."""

    year: int
    source: YearSource
    notice: str | None = None  # an entered year's notice
    entered_by: str | None = None
    entered_at: datetime | None = None
    holidays: tuple[date, ...] = ()  # the entered schedule (empty for the library's years)
    workdays: tuple[date, ...] = ()

    @property
    def known(self) -> bool:
        return self.source in KNOWN_SOURCES


def require_calendar_admin(engine: Engine, user: User) -> None:
    """The operator, or an admin of a region-level agency."""
    require_admin_role(user, msg("enter the official calendar"))
    if user.operator:
        return
    with engine.connect() as conn:
        level = get_agency(conn, user.agency_code).level if user.agency_code else None
    if level is not Level.REGION:
        raise AccessDenied(msg("{user} may not enter the official calendar: it changes the deadlines of "
                               "every agency in the region", user=user.name),
                           hint=msg("an admin of a region-level agency can do this"))


def _check_schedule(year: int, holidays: Iterable[date], workdays: Iterable[date]
                    ) -> tuple[tuple[date, ...], tuple[date, ...]]:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidRequest(msg("year {year} is not one the calendar takes", year=year),
                             hint=msg("give a year from {first} to {last}", first=FIRST_YEAR,
                                      last=LAST_YEAR))
    off, on = tuple(sorted(set(holidays))), tuple(sorted(set(workdays)))
    if not off:
        raise InvalidRequest(msg("the schedule of {year} has no holidays", year=year),
                             hint=msg("give every holiday day of the notice (放假), e.g. "
                                      "{year}-01-01", year=year))
    outside = [d.isoformat() for d in (*off, *on) if d.year != year]
    if outside:
        raise InvalidRequest(msg("days outside {year}: {days}", year=year, days=", ".join(outside)),
                             hint=msg("enter each year's days with that year"))
    both = [d.isoformat() for d in set(off) & set(on)]
    if both:
        raise InvalidRequest(msg("days both holiday and working day: {days}", days=", ".join(sorted(both))),
                             hint=msg("a day is either a holiday or an adjusted working day"))
    weekdays = [d.isoformat() for d in on if d.weekday() < 5]
    if weekdays:
        raise InvalidRequest(msg("adjusted working days that are not on a weekend: {days}",
                                 days=", ".join(weekdays)),
                             hint=msg("list as adjusted working days (上班) only the Saturdays and "
                                      "Sundays the notice makes working days"))
    return off, on


def enter_year(log: CustodyLog, user: User, year: int, holidays: Iterable[date],
               workdays: Iterable[date], notice: str, now: datetime | None = None) -> CalendarYear:
    """Enter (or correct) ``year``'s schedule from the State Council's notice (event
    ``org:calendar:year-entered``)."""
    require_calendar_admin(log.engine, user)
    off, on = _check_schedule(year, holidays, workdays)
    notice = clean_text(notice, msg("notice"), NOTICE_MAX)
    schedule = {**{d: False for d in off}, **{d: True for d in on}}
    if year in library_years() and not same_schedule(year, schedule, library_schedule(year)):
        raise Conflict(msg("the schedule entered for {year} differs from the official calendar the "
                           "server already has", year=year),
                       hint=msg("check the days against the notice; the server's calendar of {year} "
                                "need not be entered", year=year))
    moment = now or datetime.now(UTC)
    y, d = tables.calendar_years, tables.calendar_days
    with write_transaction(log.engine) as conn:
        replaced = conn.execute(select(y.c.notice).where(y.c.year == year)).scalar_one_or_none()
        conn.execute(delete(d).where(d.c.year == year))
        conn.execute(delete(y).where(y.c.year == year))
        conn.execute(insert(y).values(year=year, notice=notice, entered_at=moment,
                                      entered_by=user.actor))
        conn.execute(insert(d), [{"day": day, "year": year, "working": working}
                                 for day, working in sorted(schedule.items())])
        log.append([EventDraft(EventType.CALENDAR_YEAR_ENTERED, user.actor, None, {
            "year": year, "notice": notice, "holidays": [x.isoformat() for x in off],
            "workdays": [x.isoformat() for x in on], "replaces": replaced}, moment)], conn)
    source = YearSource.BOTH if year in library_years() else YearSource.ENTERED
    return CalendarYear(year, source, notice, user.actor, moment, off, on)


def list_years(engine: Engine, user: User, today: date) -> list[CalendarYear]:
    """The years around ``today``, the first the package does not know, and every entered one,
    with where each is known from."""
    require_admin_role(user, msg("see the official calendar"))
    y = tables.calendar_years
    with engine.connect() as conn:
        calendar = load_calendar(conn)
        rows = {row.year: row for row in conn.execute(select(y))}
    # up to next year, and at least the first year the package does not know (the one to enter)
    last = max(today.year + SHOWN_AFTER, max(library_years()) + 1)
    years = sorted({*range(today.year - SHOWN_BEFORE, last + 1), *rows})
    return [_year(calendar, year, rows.get(year)) for year in years]


def _year(calendar: OfficialCalendar, year: int, row: Row[Any] | None) -> CalendarYear:
    source = calendar.source(year)
    if row is None:
        return CalendarYear(year, source)
    schedule = calendar.entered.get(year, {})
    return CalendarYear(
        year, source, row.notice, row.entered_by, aware(row.entered_at),
        tuple(sorted(x for x, working in schedule.items() if not working)),
        tuple(sorted(x for x, working in schedule.items() if working)))


def parse_days(values: Iterable[str]) -> list[date]:
    """Days written as 2027-02-05, or a run as 2027-02-05..2027-02-11 (both ends included), as
    the notice writes its holidays (2月5日至11日)."""
    days: list[date] = []
    for value in values:
        first, _, last = value.strip().partition("..")
        try:
            start, end = date.fromisoformat(first), date.fromisoformat(last or first)
        except ValueError:
            raise InvalidRequest(msg("{value!r} is not a day or a run of days", value=value),
                                 hint=msg("write a day as 2027-02-05, a run as "
                                          "2027-02-05..2027-02-11")) from None
        if end < start or (end - start).days > MAX_RUN:
            raise InvalidRequest(msg("the run {value!r} is not a holiday period", value=value),
                                 hint=msg("write the first day, then the last (at most {days} days)",
                                          days=MAX_RUN + 1))
        days.extend(start + timedelta(days=n) for n in range((end - start).days + 1))
    return days
