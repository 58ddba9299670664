"""The official calendar (admin): which years' holidays and adjusted working days are known,
and a year entered from the State Council's notice (cases/calendar_admin.py; the same
functions as `evidence calendar ...`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from api.http.auth import CurrentUser
from api.http.errors import responses
from api.http.models import Strict
from api.http.services import ServicesDep
from cases.calendar_admin import (
    FIRST_YEAR,
    LAST_YEAR,
    NOTICE_MAX,
    CalendarYear,
    enter_year,
    list_years,
)
from cases.text import TEXT_PATTERN
from cases.workdays import local_day
from domain.messages import msg

router = APIRouter(tags=["calendar"])
Year = Annotated[int, Path(ge=FIRST_YEAR, le=LAST_YEAR)]
Notice = Annotated[str, StringConstraints(min_length=1, max_length=NOTICE_MAX, pattern=TEXT_PATTERN)]


def _distinct(days: list[date]) -> list[date]:
    if len(set(days)) != len(days):
        raise ValueError(msg("a day is listed twice"))
    return days


Days = Annotated[list[date], Field(max_length=366, json_schema_extra={"uniqueItems": True}),
                 AfterValidator(_distinct)]
Holidays = Annotated[list[date], Field(min_length=1, max_length=366,
                                       json_schema_extra={"uniqueItems": True}),
                     AfterValidator(_distinct)]


class CalendarYearIn(Strict):
    notice: Notice = Field(description="The notice's title and number, e.g. 国务院办公厅关于2027年"
                                       "部分节假日安排的通知（国办发明电〔2026〕X号）.")
    holidays: Holidays = Field(description="Every holiday day (放假) of the notice, weekends included "
                                       "or not.")
    workdays: Days = Field(default_factory=list, description="The Saturdays and Sundays the notice "
                                                             "makes working days (调休上班).")


class CalendarYearOut(BaseModel):
    year: int
    source: Literal["library", "entered", "both", "conflict", "unknown"] = Field(
        description="library: known from the server's calendar package; entered: by an admin "
                    "from the notice; both: entered and the package agrees; conflict: the "
                    "package now differs from the entry (counts unconfirmed until entered "
                    "again); unknown: counts into it are unconfirmed.")
    known: bool
    notice: str | None
    entered_by: str | None
    entered_at: datetime | None
    holidays: list[date]
    workdays: list[date]


class CalendarYearList(BaseModel):
    items: list[CalendarYearOut]


def _out(year: CalendarYear) -> CalendarYearOut:
    return CalendarYearOut(year=year.year, source=year.source.value, known=year.known,
                           notice=year.notice, entered_by=year.entered_by,
                           entered_at=year.entered_at, holidays=list(year.holidays),
                           workdays=list(year.workdays))


@router.get("/calendar/years", response_model=CalendarYearList, responses=responses(401, 403),
            summary="Years of the official calendar")
def years(services: ServicesDep, user: CurrentUser) -> CalendarYearList:
    """Admin: the years around this one and every entered year, with where each is known from.
    Deadlines that run into an unknown year are shown as unconfirmed."""
    return CalendarYearList(items=[_out(y) for y in list_years(services.engine, user,
                                                                local_day(services.now()))])


@router.put("/calendar/years/{year}", response_model=CalendarYearOut,
            responses=responses(400, 401, 403, 404, 409), summary="Enter a year of the calendar")
def put_year(year: Year, body: CalendarYearIn, services: ServicesDep,
             user: CurrentUser) -> CalendarYearOut:
    """Admin of a region-level agency: a year's holidays and adjusted working days from the
    State Council's notice; again to correct it. Refused (409) for a year the server's calendar
    already knows differently. Event `org:calendar:year-entered`. The same as `evidence
    calendar enter`."""
    return _out(enter_year(services.log, user, year, body.holidays, body.workdays, body.notice,
                           now=services.now()))
