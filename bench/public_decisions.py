"""The public site's published decisions at scale: list and search latency (p50/p99) at
100,000 published decisions, against a 1,000-decision baseline in the same run.

    .venv/bin/python bench/public_decisions.py                 # SQLite
    .venv/bin/python bench/public_decisions.py --pg            # PostgreSQL (EVIDENCE_BENCH_PG_URL)
    .venv/bin/python bench/public_decisions.py --sizes 1000 100000 --requests 200

The rows are written straight into a migrated database (agencies, units, matters, cases,
decided actions, their publication records and one published version each; one in ten has a
second, corrected version and one in fifty is revoked), then the public routes are asked in
process (FastAPI's TestClient, no network): the list's first page and a later one, by agency,
by kind, by a month's date range, by party, one decision's page, its JSON and the feed.
``uptime`` is printed before and after: the machine is shared.
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

_BENCH_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _BENCH_DIR.parent
if sys.path and Path(sys.path[0] or ".").resolve() == _BENCH_DIR:
    sys.path[0] = str(_REPO_ROOT)

import argparse
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, text

from api.home import Home, init_home
from api.http.app import create_app
from api.http.ratelimit import RateLimits
from api.http.services import ApiOptions
from api.settings import Settings
from cases import tables

AGENCIES = ("north", "south", "east", "west")
KINDS = ("licensing", "penalty", "compulsory", "levy", "inspection")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
BATCH = 5000


def seed(engine: Engine, count: int) -> list[str]:
    """``count`` published decisions; returns their ids."""
    rng = random.Random(count)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    ids: list[str] = []
    with engine.begin() as conn:
        for code in AGENCIES:
            conn.execute(insert(tables.agencies).values(code=code, name=f"{code}市市场监督管理局",
                                                        level="city", parent_code=None,
                                                        created_at=now, created_by="bench"))
            conn.execute(insert(tables.units).values(code=f"{code}-1", agency_code=code,
                                                     name="一所", created_at=now,
                                                     created_by="bench"))
            conn.execute(insert(tables.enforcement_matters).values(
                id=f"m-{code}", agency_code=code, name="无证经营处罚", legal_basis="第十三条",
                procedure="一般程序", time_limit_days=90, remedy="复议", updated_at=now,
                updated_by="bench"))
    for start in range(0, count, BATCH):
        cases, actions, records, versions = [], [], [], []
        for n in range(start, min(count, start + BATCH)):
            agency = AGENCIES[n % len(AGENCIES)]
            kind = KINDS[rng.randrange(len(KINDS))]
            day = date(2024, 1, 1) + timedelta(days=rng.randrange(366))
            published = datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=3)
            case_id, action_id, pid = (str(uuid.uuid4()) for _ in range(3))
            party = SURNAMES[rng.randrange(len(SURNAMES))] + "某"
            revoked = n % 50 == 0
            corrected = n % 10 == 0
            cases.append(dict(id=case_id, number=f"B-{n}", title="案件", created_at=now,
                              created_by="bench", unit_code=f"{agency}-1"))
            actions.append(dict(id=action_id, case_id=case_id, kind=kind, matter_id=f"m-{agency}",
                                party_kind="person", party_name=party[0] + "三",
                                on_site=False, action_date=day, state="decided",
                                created_at=now, created_by="bench"))
            content = {"agency": agency, "agency_name": f"{agency}市市场监督管理局", "kind": kind,
                       "party_kind": "person", "party": party, "conclusion": "罚款500元",
                       "legal_basis": "第十三条", "decision_date": day.isoformat(),
                       "document_number": f"罚字〔2024〕{n}号"}
            last = 2 if corrected else 1
            records.append(dict(
                id=pid, action_id=action_id, case_id=case_id, agency_code=agency,
                unit_code=f"{agency}-1", kind=kind, decision_date=day, due=day, due_confirmed=True,
                state="revoked" if revoked else "published", party_kind="person", party=party,
                conclusion="罚款500元", legal_basis="第十三条", document_number=content["document_number"],
                masked="{}", confirmed_by="bench", confirmed_at=published, version=last,
                published_at=published, revoked_at=published + timedelta(days=9) if revoked else None,
                revoked_by="bench" if revoked else None, revoke_reason="复议撤销" if revoked else None,
                drafted_at=published, updated_at=published,
                public_changed_at=published + timedelta(days=9 if revoked else last)))
            for version in range(1, last + 1):
                versions.append(dict(
                    publication_id=pid, version=version, content=json.dumps(content, ensure_ascii=False),
                    published_at=published + timedelta(days=version - 1), published_by="bench",
                    reason="文号有误" if version > 1 else None, agency_code=agency, kind=kind,
                    party=party, decision_date=day, live=version == last and not revoked))
            ids.append(pid)
        with engine.begin() as conn:
            conn.execute(insert(tables.cases), cases)
            conn.execute(insert(tables.enforcement_actions), actions)
            conn.execute(insert(tables.publications), records)
            conn.execute(insert(tables.publication_versions), versions)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    return ids


def timed(client: TestClient, paths: dict[str, str], requests: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, path in paths.items():
        client.get(path).raise_for_status()  # warm
        samples = []
        for _ in range(requests):
            began = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        samples.sort()
        out[label] = {"p50_ms": round(statistics.median(samples), 2),
                     "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2)}
    return out


def run(size: int, requests: int, pg: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-public-") as root:
        settings = Settings(home=Path(root) / "home", s3_endpoint=None)
        if pg:
            settings = Settings(home=Path(root) / "home", s3_endpoint=None,
                                database_url=os.environ["EVIDENCE_BENCH_PG_URL"])
        home: Home = init_home(settings)[0]
        began = time.perf_counter()
        ids = seed(home.engine(), size)
        seeded = time.perf_counter() - began
        app = create_app(home, ApiOptions(rate_limits=RateLimits.generous()))
        one = ids[len(ids) // 2 + 1]
        paths = {"list, first page (JSON)": "/public/api/decisions",
                 "list, offset 200 (JSON)": "/public/api/decisions?offset=200",
                 "by agency": "/public/api/decisions?agency=north",
                 "by kind": "/public/api/decisions?kind=penalty",
                 "by a month's dates": "/public/api/decisions?from=2024-06-01&to=2024-06-30",
                 "by party (王)": "/public/api/decisions?party=%E7%8E%8B",
                 "list page (HTML)": "/public/decisions",
                 "one decision (HTML)": f"/public/decisions/{one}",
                 "one decision (JSON)": f"/public/api/decisions/{one}",
                 "feed (Atom)": "/public/decisions/feed.atom"}
        with TestClient(app) as client:
            figures = timed(client, paths, requests)
        app.state.services.log.close()
        home.engine().dispose()
        return {"size": size, "seed_s": round(seeded, 1), "paths": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--pg", action="store_true")
    args = parser.parse_args()
    print("uptime before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    results = [run(size, args.requests, args.pg) for size in args.sizes]
    base = results[0]
    for result in results:
        print(f"\n{result['size']:,} published decisions (seeded in {result['seed_s']} s)")
        for path, figure in result["paths"].items():
            ratio = figure["p50_ms"] / base["paths"][path]["p50_ms"]
            print(f"  {path:30} p50 {figure['p50_ms']:8.2f} ms  p99 {figure['p99_ms']:8.2f} ms"
                  f"  p50 x{ratio:.2f} of {base['size']:,}")
    print("\nuptime after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
