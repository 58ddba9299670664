"""Working days on the official calendar (State Council holiday schedule with its adjusted
working weekends, 调休).

Interface shared by legal review (time limits) and publication (deadlines). A count that
runs into a year whose schedule is not known is returned with ``confirmed=False``: shown as
unconfirmed, never guessed as final.

Skeleton: weekends only, every answer unconfirmed; the calendar work replaces the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection


@dataclass(frozen=True)
class Due:
    """A deadline: the day, and whether every day counted is on a known official schedule."""

    day: date
    confirmed: bool


def is_working_day(conn: Connection | None, day: date) -> bool | None:
    """True or False on a known schedule; None when ``day``'s year is not known."""
    del conn, day
    return None


def add_working_days(conn: Connection | None, start: date, days: int) -> Due:
    """The day ``days`` working days after ``start`` (``start`` itself not counted)."""
    del conn
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return Due(day, confirmed=False)
