"""The search's query plans and in-process times at N evidence items (SQLite and PostgreSQL).

    .venv/bin/python bench/search_plans.py [--items 100000] [--pg-url URL] [--skip-sqlite]

Populates a scratch home with ``bench/api.py``'s synthetic catalogue (a year of a 400-officer
force; the officers' recorders registered with Chinese names), then for each typical search of
a case officer (``cases.evidence.search_evidence``): the statements it sends with their plans
(SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN ANALYZE) and p50/p99 of 30 calls in-process
(one connection; the load under 50 users is bench/api.py's and the load harness's).
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == _REPO_ROOT / "bench":
    sys.path[0] = str(_REPO_ROOT)

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, text

from api.home import init_home
from api.settings import Settings
from bench.api import YEAR_START, explain, fleet, populate
from cases import tables
from cases.devices import register_device
from cases.evidence import EvidenceFilter, search_evidence
from cases.tables import DEFAULT_UNIT
from cases.users import Role, User, add_user, get_user, operator

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "娜伟芳敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"


def chinese_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)] + GIVEN[n % 7]


def searches(engine: Engine) -> list[tuple[str, EvidenceFilter]]:
    crew = fleet()
    with engine.connect() as conn:
        case_id = conn.execute(select(tables.cases.c.id).limit(1)).scalar_one()
    day = YEAR_START + timedelta(days=150, hours=14, minutes=30)
    return [
        ("first page", EvidenceFilter()),
        ("officer number", EvidenceFilter(officer=crew.officers[7])),
        ("officer name (2 chars, Chinese)", EvidenceFilter(officer=chinese_name(7)[:2])),
        ("device", EvidenceFilter(device_serial=crew.devices[11])),
        ("unit", EvidenceFilter(unit=DEFAULT_UNIT)),
        ("window 10 min", EvidenceFilter(time_from=day, time_to=day + timedelta(minutes=10))),
        ("window 1 day", EvidenceFilter(time_from=day, time_to=day + timedelta(days=1))),
        ("window 30 days", EvidenceFilter(time_from=day, time_to=day + timedelta(days=30))),
        ("officer + 30 days + video", EvidenceFilter(officer=crew.officers[7], time_from=day,
                                                     time_to=day + timedelta(days=30),
                                                     kind="video")),
        ("flag legal_hold", EvidenceFilter(flags=("legal_hold",))),
        ("flag time_uncertain", EvidenceFilter(flags=("time_uncertain",))),
        ("case", EvidenceFilter(case_id=case_id)),
        ("deep page (offset 5000)", EvidenceFilter(offset=5000)),
    ]


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def run(database_url: str, root: Path, items: int) -> None:
    home, _ = init_home(Settings(home=root, database_url=database_url, s3_endpoint=None))
    engine, log, by = home.engine(), home.custody_log(), operator("bench")
    add_user(log, "co", Role.CASE_OFFICER, None, by=by, unit_code=DEFAULT_UNIT)
    crew = fleet()
    for n, (officer, device) in enumerate(zip(crew.officers, crew.devices, strict=False)):
        register_device(log, by, device, officer, DEFAULT_UNIT, chinese_name(n))
    print(f"# {engine.dialect.name}: {populate(engine, items, 'co')}")
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    user: User = get_user(engine, "co")
    for label, wanted in searches(engine):
        with captured(engine) as statements:
            page = search_evidence(engine, user, wanted)
        times = []
        for _ in range(30):
            started = time.perf_counter()
            search_evidence(engine, user, wanted)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        print(f"\n## {label}: {len(page.items)} items, total {page.total}"
              f"{'' if page.exact else '+'}; p50 {statistics.median(times):.1f} ms, "
              f"p99 {times[-1]:.1f} ms")
        for line in explain(engine, [s for s in statements if "evidence" in s[0]]):
            print(line)
    log.close()
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--pg-url", default=None, help="an admin URL: a scratch database is made")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            run(f"sqlite:///{folder}/evidence.db", Path(folder) / "home", args.items)
    if args.pg_url:
        name = f"search_plans_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            with tempfile.TemporaryDirectory() as folder:
                run(args.pg_url.rsplit("/", 1)[0] + "/" + name, Path(folder) / "home", args.items)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    _ = datetime.now(UTC)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
