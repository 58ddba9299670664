"""Times in the case service: stored and compared in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_utc(moment: datetime) -> datetime:
    """An aware time converted to UTC (callers refuse naive times before this)."""
    return moment.astimezone(UTC)


DEADLINE_ZONE = ZoneInfo("Asia/Shanghai")  # deadlines are calendar dates of this zone


def local_day(moment: datetime) -> date:
    """The calendar date in Asia/Shanghai of ``moment`` (naive: UTC)."""
    return aware(moment).astimezone(DEADLINE_ZONE).date()
