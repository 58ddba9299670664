"""Working-day deadlines on the official calendar (cases/workdays.py).

The schedules below are written from the State Council's notices, not read from the
chinese-calendar package, so that the package and the count are checked against the source:

- 2024: 国务院办公厅关于2024年部分节假日安排的通知, 国办发明电〔2023〕7号 (2023-10-25)
- 2025: 国务院办公厅关于2025年部分节假日安排的通知, 国办发明电〔2024〕12号 (2024-11-12)
- 2026: 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04, 新华社 published the full text)

Each: the holidays (放假, first to last day) and the weekend days worked instead (上班).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases import workdays as workdays_module
from cases.calendar_admin import enter_year
from cases.users import operator
from cases.workdays import (
    Due,
    OfficialCalendar,
    YearSource,
    add_working_days,
    is_working_day,
    load_calendar,
    working_days_between,
)
from custody.log import CustodyLog

D = date
# year -> (holiday runs, adjusted working days)
NOTICES: dict[int, tuple[list[tuple[date, date]], list[date]]] = {
    2024: ([(D(2024, 1, 1), D(2024, 1, 1)),  # 元旦
            (D(2024, 2, 10), D(2024, 2, 17)),  # 春节
            (D(2024, 4, 4), D(2024, 4, 6)),  # 清明节
            (D(2024, 5, 1), D(2024, 5, 5)),  # 劳动节
            (D(2024, 6, 10), D(2024, 6, 10)),  # 端午节
            (D(2024, 9, 15), D(2024, 9, 17)),  # 中秋节
            (D(2024, 10, 1), D(2024, 10, 7))],  # 国庆节
           [D(2024, 2, 4), D(2024, 2, 18), D(2024, 4, 7), D(2024, 4, 28), D(2024, 5, 11),
            D(2024, 9, 14), D(2024, 9, 29), D(2024, 10, 12)]),
    2025: ([(D(2025, 1, 1), D(2025, 1, 1)),
            (D(2025, 1, 28), D(2025, 2, 4)),
            (D(2025, 4, 4), D(2025, 4, 6)),
            (D(2025, 5, 1), D(2025, 5, 5)),
            (D(2025, 5, 31), D(2025, 6, 2)),
            (D(2025, 10, 1), D(2025, 10, 8))],  # 国庆节、中秋节
           [D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11)]),
    2026: ([(D(2026, 1, 1), D(2026, 1, 3)),
            (D(2026, 2, 15), D(2026, 2, 23)),
            (D(2026, 4, 4), D(2026, 4, 6)),
            (D(2026, 5, 1), D(2026, 5, 5)),
            (D(2026, 6, 19), D(2026, 6, 21)),
            (D(2026, 9, 25), D(2026, 9, 27)),
            (D(2026, 10, 1), D(2026, 10, 7))],
           [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20),
            D(2026, 10, 10)]),
}
# An admin's entry of 2027 for the tests (not the official schedule, which the package does
# not have): New Year's Day on a Friday, a Spring Festival week with a Sunday worked before it.
ENTERED_2027 = ([D(2027, 1, 1), *(D(2027, 2, 5) + timedelta(days=n) for n in range(7))],
                [D(2027, 1, 31)])


def official_working(day: date) -> bool:
    holidays, workdays = NOTICES[day.year]
    if day in workdays:
        return True
    if any(first <= day <= last for first, last in holidays):
        return False
    return day.weekday() < 5


LIBRARY = OfficialCalendar()


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_every_day_of_the_known_years_is_as_the_notice_says(year: int) -> None:
    day = D(year, 1, 1)
    while day.year == year:
        assert is_working_day(None, day) is official_working(day), day
        day += timedelta(days=1)
    assert LIBRARY.source(year) is YearSource.LIBRARY


# (decision day, working days, due day): counted by hand on the notices above
DEADLINES = [
    # 2024 Spring Festival (2.10-2.17 off; Sun 2.4 and Sun 2.18 worked): the 7th day is a Sunday
    (D(2024, 2, 2), 7, D(2024, 2, 18)),
    (D(2024, 2, 2), 20, D(2024, 3, 6)),
    # 2024 National Day (10.1-10.7 off; Sun 9.29 and Sat 10.12 worked): the 7th is a Saturday
    (D(2024, 9, 27), 7, D(2024, 10, 12)),
    (D(2024, 9, 27), 20, D(2024, 10, 30)),
    # 2025 Spring Festival (1.28-2.4 off; Sun 1.26 and Sat 2.8 worked)
    (D(2025, 1, 24), 7, D(2025, 2, 10)),
    (D(2025, 1, 24), 20, D(2025, 2, 27)),
    # 2025 National Day and Mid-Autumn (10.1-10.8 off; Sun 9.28 and Sat 10.11 worked)
    (D(2025, 9, 26), 7, D(2025, 10, 13)),
    (D(2025, 9, 26), 20, D(2025, 10, 30)),
    (D(2025, 9, 30), 7, D(2025, 10, 16)),  # decided the day before the holiday
    # 2026 Spring Festival (2.15-2.23 off; Sat 2.14 and Sat 2.28 worked): ends on Saturday 2.28
    (D(2026, 2, 12), 7, D(2026, 2, 28)),
    (D(2026, 2, 12), 20, D(2026, 3, 18)),
    # 2026 Mid-Autumn (9.25-9.27) and National Day (10.1-10.7; Sun 9.20, Sat 10.10 worked)
    (D(2026, 9, 18), 7, D(2026, 9, 29)),
    (D(2026, 9, 18), 20, D(2026, 10, 22)),
    (D(2026, 9, 28), 7, D(2026, 10, 13)),
]


@pytest.mark.parametrize(("start", "days", "due"), DEADLINES)
def test_deadlines_across_the_holidays(start: date, days: int, due: date) -> None:
    assert add_working_days(None, start, days) == Due(due, confirmed=True)
    assert working_days_between(None, start, due).days == days


def test_an_adjusted_working_weekend_counts_and_a_weekday_holiday_does_not() -> None:
    assert is_working_day(None, D(2024, 10, 12)) is True  # Saturday worked (调休)
    assert is_working_day(None, D(2026, 2, 28)) is True  # Saturday worked
    assert is_working_day(None, D(2024, 9, 29)) is True  # Sunday worked
    assert is_working_day(None, D(2026, 10, 5)) is False  # a Monday of the National Day holiday
    assert is_working_day(None, D(2025, 2, 9)) is False  # an ordinary Sunday
    # a decision on the Friday before: its 1st working day is the Sunday worked
    assert add_working_days(None, D(2024, 9, 27), 1) == Due(D(2024, 9, 29), True)


def test_a_count_into_an_unknown_year_is_unconfirmed() -> None:
    assert is_working_day(None, D(2027, 1, 4)) is None
    assert LIBRARY.source(2027) is YearSource.UNKNOWN
    # inside 2026: confirmed
    assert add_working_days(None, D(2026, 12, 7), 7) == Due(D(2026, 12, 16), True)
    # 20 working days from 7 December run into January 2027: weekends only, unconfirmed
    assert add_working_days(None, D(2026, 12, 7), 20) == Due(D(2027, 1, 4), False)
    assert add_working_days(None, D(2026, 12, 28), 7) == Due(D(2027, 1, 6), False)
    assert working_days_between(None, D(2026, 12, 28), D(2027, 1, 6)).confirmed is False


def test_an_entered_year_is_then_confirmed(log: CustodyLog) -> None:
    engine = log.engine
    holidays, workdays = ENTERED_2027
    with engine.connect() as conn:
        assert add_working_days(conn, D(2026, 12, 28), 7) == Due(D(2027, 1, 6), False)
    enter_year(log, operator("test"), 2027, holidays, workdays, "测试：2027年部分节假日安排",
               now=datetime(2026, 12, 7, tzinfo=UTC))
    with engine.connect() as conn:
        # 12.29, 12.30, 12.31, (1.1 off), 1.4, 1.5, 1.6, 1.7
        assert add_working_days(conn, D(2026, 12, 28), 7) == Due(D(2027, 1, 7), True)
        assert is_working_day(conn, D(2027, 1, 31)) is True  # the Sunday worked
        assert is_working_day(conn, D(2027, 2, 8)) is False
        # from Friday 1.29: Sunday 1.31 worked, 2.1-2.4, (2.5-2.11 off), 2.12, 2.15
        assert add_working_days(conn, D(2027, 1, 29), 7) == Due(D(2027, 2, 15), True)
        # 2028 is still unknown
        assert add_working_days(conn, D(2027, 12, 27), 7).confirmed is False
        assert load_calendar(conn).source(2027) is YearSource.ENTERED


# --- properties ---------------------------------------------------------------------------

starts = st.dates(min_value=D(2023, 12, 1), max_value=D(2027, 3, 1))


@settings(max_examples=150, deadline=None)
@given(start=starts, days=st.integers(min_value=0, max_value=60))
def test_counting_back_gives_the_number_added(start: date, days: int) -> None:
    due = add_working_days(None, start, days, calendar=LIBRARY)
    count = working_days_between(None, start, due.day, calendar=LIBRARY)
    assert count.days == days and count.confirmed == due.confirmed
    if days:
        assert LIBRARY.estimate(due.day)[0]  # a deadline ends on a working day
    first = (start + timedelta(days=1)).year
    assert due.confirmed == all(LIBRARY.known(y) for y in range(first, due.day.year + 1)) \
        or due.day == start


@settings(max_examples=150, deadline=None)
@given(start=starts, later=st.integers(min_value=0, max_value=40),
       days=st.integers(min_value=0, max_value=40), more=st.integers(min_value=1, max_value=20))
def test_deadlines_are_monotonic(start: date, later: int, days: int, more: int) -> None:
    due = add_working_days(None, start, days, calendar=LIBRARY).day
    assert add_working_days(None, start, days + more, calendar=LIBRARY).day > due
    assert add_working_days(None, start + timedelta(days=later), days, calendar=LIBRARY).day >= due
    assert due >= start


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_days(None, D(2026, 1, 5), -1)


def test_a_newer_package_that_disagrees_with_an_entry_makes_the_year_unconfirmed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    holidays, workdays = ENTERED_2027
    entered = {**dict.fromkeys(holidays, False), **dict.fromkeys(workdays, True)}
    assert OfficialCalendar({2027: entered}).source(2027) is YearSource.ENTERED
    package_years = frozenset(range(2004, 2028))
    monkeypatch.setattr(workdays_module, "library_years", lambda: package_years)
    # the package (as a later release might) has the Spring Festival a week later
    later = {d + timedelta(days=7): working for d, working in entered.items() if d.month == 2}
    monkeypatch.setattr(workdays_module, "library_schedule",
                        lambda year: {**later, D(2027, 1, 1): False} if year == 2027 else {})
    calendar = OfficialCalendar({2027: entered})
    assert calendar.source(2027) is YearSource.CONFLICT
    assert calendar.is_working_day(D(2027, 2, 8)) is None
    assert add_working_days(None, D(2027, 1, 29), 7, calendar=calendar).confirmed is False
    # the same schedule: both, and confirmed
    monkeypatch.setattr(workdays_module, "library_schedule",
                        lambda year: entered if year == 2027 else {})
    calendar = OfficialCalendar({2027: entered})
    assert calendar.source(2027) is YearSource.BOTH
    assert add_working_days(None, D(2027, 1, 29), 7, calendar=calendar) == Due(D(2027, 2, 15), True)
