"""What a legal-review submission's check of its cited items costs, against `evidence verify
--objects` over the same items.

    .venv/bin/python bench/review_submit.py                 # 200 items of 1 MiB, 5 runs
    .venv/bin/python bench/review_submit.py --items 200 --size 65536 --runs 3

A fresh home (SQLite, local object store) holds one case with ``--items`` documents. The
submission check (``cases.packet_checks.check_cited``: each item's stored bytes re-hashed
and its ingest event proven by an inclusion proof in a signed checkpoint) and
``run_verify(objects=True)`` (the whole log, which is little more than those items' events,
and every stored object) run alternately, each first in turn; the figures are the medians
and the median of the paired ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.home import dispose_engines, init_home
from api.settings import Settings
from api.verify_run import run_verify
from bench.common import median_paired_ratio
from cases.case_records import create_case
from cases.documents import DocumentKind, add_document
from cases.packet_checks import check_cited
from cases.tables import DEFAULT_UNIT
from cases.users import Role, add_user, operator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--size", type=int, default=1 << 20, help="bytes of each item")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-review-") as root:
        home, _ = init_home(Settings(home=Path(root) / "home", s3_endpoint=None,
                                     log_origin="bench.example/review"))
        log, store = home.custody_log(), home.object_store()
        admin, _ = add_user(log, "admin", Role.ADMIN, None, by=operator("bench"),
                            unit_code=DEFAULT_UNIT)
        case = create_case(log, admin, "Bench", "BENCH-1")
        items = []
        for number in range(args.items):
            data = b"%PDF-1.7\n" + os.urandom(args.size - 9)
            made = add_document(log, store, admin, case.id, f"doc-{number}.pdf",
                                DocumentKind.OTHER, data)
            items.append({"evidence_id": made.evidence_id, "sha256": made.sha256,
                          "size": made.size})
        check_cited(log, store, home.verifier(), items)  # warm: the index and the checkpoint
        ours, theirs = [], []
        def submission_check() -> None:
            began = time.perf_counter()
            check_cited(log, store, home.verifier(), items)
            ours.append(time.perf_counter() - began)

        def verify_objects() -> None:
            began = time.perf_counter()
            report = run_verify(home.engine(), store, home.verifier(), log.origin, objects=True)
            theirs.append(time.perf_counter() - began)
            assert report.ok, report.problems

        for run in range(args.runs):  # each first in turn: neither always gets a warm cache
            for measure in (submission_check, verify_objects)[::1 if run % 2 else -1]:
                measure()
        load = os.getloadavg()
        print(f"{args.items} items of {args.size} bytes, {args.runs} runs, "
              f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print(f"submission check: median {statistics.median(ours) * 1000:.0f} ms "
              f"({statistics.median(ours) / args.items * 1000:.2f} ms per item)")
        print(f"verify --objects: median {statistics.median(theirs) * 1000:.0f} ms")
        print(f"ratio (submission / verify --objects), median of paired runs: "
              f"{median_paired_ratio(ours, theirs):.2f}")
        log.close()
        dispose_engines()


if __name__ == "__main__":
    main()
