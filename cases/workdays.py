"""Working days on the official calendar (State Council holiday schedule with its adjusted
working weekends, 调休).

Interface shared by legal review (time limits) and publication (deadlines). A day's year is
known from the ``chinese-calendar`` library (the years it was published for) or from an
admin's entry of the State Council's notice (cases/calendar_admin.py). A count that runs into
a year known from neither is a weekends-only estimate returned with ``confirmed=False``: shown
as unconfirmed (未确认), never as final.

Precedence: an entry for a year the library knows must match it (cases/calendar_admin.py
refuses one that does not). Should a newer library disagree with an earlier entry, the year
is in conflict and counts in it are unconfirmed until an admin enters it again (fail closed:
one of the two is wrong, and nobody has yet said which).

A count starts the day after ``start`` (the day of the decision is not counted) and ends on
a working day. Only days of the notice's own year are held per year: a notice whose holiday
begins in late December of the year before is entered with that year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from chinese_calendar import constants as official  # type: ignore[import-untyped]  # no stubs
from sqlalchemy import Connection, select

from cases import tables

DEADLINE_ZONE = ZoneInfo("Asia/Shanghai")  # deadlines are calendar dates there

# A day that differs from Monday-to-Friday: a holiday (False) or an adjusted working day (True).
Schedule = Mapping[date, bool]


@dataclass(frozen=True)
class Due:
    """A deadline: the day, and whether every day counted is on a known official schedule."""

    day: date
    confirmed: bool


@dataclass(frozen=True)
class Count:
    """A number of working days, and whether every day counted is on a known schedule."""

    days: int
    confirmed: bool


class YearSource(StrEnum):
    LIBRARY = "library"  # the chinese-calendar library knows it
    ENTERED = "entered"  # an admin entered it from the notice (the library does not know it)
    BOTH = "both"  # entered, and the library knows it the same
    CONFLICT = "conflict"  # entered, and a newer library differs: unconfirmed until re-entered
    UNKNOWN = "unknown"


KNOWN_SOURCES = frozenset({YearSource.LIBRARY, YearSource.ENTERED, YearSource.BOTH})


def local_day(moment: datetime) -> date:
    """The calendar date of ``moment`` (aware) where deadlines are counted."""
    return moment.astimezone(DEADLINE_ZONE).date()


@lru_cache(maxsize=1)
def library_years() -> frozenset[int]:
    """The years the installed chinese-calendar has the State Council's schedule for."""
    years = {day.year for day in official.holidays}
    return frozenset(range(min(years), max(years) + 1))


@lru_cache(maxsize=64)
def library_schedule(year: int) -> Schedule:
    """The library's holidays and adjusted working days of ``year`` (empty: not known)."""
    if year not in library_years():
        return {}
    schedule = {day: False for day in official.holidays if day.year == year}
    schedule.update({day: True for day in official.workdays if day.year == year})
    return schedule


def working_on(schedule: Schedule, day: date) -> bool:
    """``day`` on ``schedule``: its listed status, else Monday to Friday."""
    listed = schedule.get(day)
    return day.weekday() < 5 if listed is None else listed


def same_schedule(year: int, one: Schedule, other: Schedule) -> bool:
    """Whether two schedules of ``year`` make the same days working days (a weekend holiday
    may be listed in one and not the other)."""
    day, end = date(year, 1, 1), date(year, 12, 31)
    while day <= end:
        if working_on(one, day) != working_on(other, day):
            return False
        day += timedelta(days=1)
    return True


@dataclass(frozen=True)
class OfficialCalendar:
    """The library's years and the entered ones, loaded once for many counts."""

    entered: Mapping[int, Schedule] = field(default_factory=dict)
    _sources: dict[int, YearSource] = field(default_factory=dict, compare=False, repr=False)

    def source(self, year: int) -> YearSource:
        if year not in self._sources:  # comparing with the package walks the year: once
            self._sources[year] = self._source(year)
        return self._sources[year]

    def _source(self, year: int) -> YearSource:
        library = year in library_years()
        if year not in self.entered:
            return YearSource.LIBRARY if library else YearSource.UNKNOWN
        if not library:
            return YearSource.ENTERED
        if same_schedule(year, self.entered[year], library_schedule(year)):
            return YearSource.BOTH
        return YearSource.CONFLICT

    def known(self, year: int) -> bool:
        return self.source(year) in KNOWN_SOURCES

    def is_working_day(self, day: date) -> bool | None:
        source = self.source(day.year)
        if source not in KNOWN_SOURCES:
            return None
        schedule = self.entered[day.year] if source is YearSource.ENTERED \
            else library_schedule(day.year)
        return working_on(schedule, day)

    def estimate(self, day: date) -> tuple[bool, bool]:
        """(working, confirmed): a day of an unknown year is estimated Monday to Friday."""
        working = self.is_working_day(day)
        return (day.weekday() < 5, False) if working is None else (working, True)


def load_calendar(conn: Connection | None) -> OfficialCalendar:
    """The calendar as the database holds it now (``conn`` None: the library's years only)."""
    if conn is None:
        return OfficialCalendar()
    entered: dict[int, dict[date, bool]] = {
        row.year: {} for row in conn.execute(select(tables.calendar_years.c.year))}
    for row in conn.execute(select(tables.calendar_days)):
        entered.setdefault(row.year, {})[row.day] = row.working
    return OfficialCalendar(entered)


def is_working_day(conn: Connection | None, day: date, *,
                   calendar: OfficialCalendar | None = None) -> bool | None:
    """True or False on a known schedule; None when ``day``'s year is not known."""
    return (calendar or load_calendar(conn)).is_working_day(day)


def add_working_days(conn: Connection | None, start: date, days: int, *,
                     calendar: OfficialCalendar | None = None) -> Due:
    """The day ``days`` working days after ``start`` (``start`` itself not counted).

    ``calendar``: one loaded by ``load_calendar``, for many counts (``conn`` then unused)."""
    if days < 0:
        raise ValueError("a number of working days is not negative")
    official_calendar = calendar or load_calendar(conn)
    day, confirmed = start, True
    while days > 0:
        day += timedelta(days=1)
        working, known = official_calendar.estimate(day)
        confirmed = confirmed and known
        if working:
            days -= 1
    return Due(day, confirmed)


def working_days_between(conn: Connection | None, start: date, end: date, *,
                         calendar: OfficialCalendar | None = None) -> Count:
    """The working days after ``start`` up to and including ``end`` (0 if ``end`` <= ``start``):
    how many of a time limit have run by ``end``."""
    official_calendar = calendar or load_calendar(conn)
    day, days, confirmed = start, 0, True
    while day < end:
        day += timedelta(days=1)
        working, known = official_calendar.estimate(day)
        confirmed = confirmed and known
        days += working
    return Count(days, confirmed)
