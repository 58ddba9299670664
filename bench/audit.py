"""What the audit routes cost on a large log (the cached log of bench/custody.py, copied).

    .venv/bin/python bench/audit.py                # 200,000 events
    .venv/bin/python bench/audit.py --events 1000000

Measured, medians of repetitions (the machine may be shared):

1. ``verify_database`` without and with a progress listener (the counting reader and the
   phase calls a verify job adds);
2. building the event index (``custody_subjects``) from nothing, as the first events
   request after migration 0014 does;
3. one item's events filtered by type, and the whole log filtered by actor (with its count);
4. the first page (50) of the checkpoint history, every checkpoint checked;
5. one entry's proof, explained and checked twice.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.custody import ORIGIN, cached_log
from cases import tables
from cases.custody_index import EventFilter, event_page, refresh
from custody.history import checkpoint_history
from custody.log import CustodyLog
from custody.proofs import explain_inclusion
from custody.verify import verify_database
from storage.db import make_engine, sqlite_url


class Quiet:
    def phase(self, name: str, total: int | None = None) -> None:
        pass

    def checked(self, count: int) -> None:
        pass


def timed(work: Callable[[], object], reps: int) -> float:
    runs = []
    for _ in range(reps):
        started = time.perf_counter()
        work()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    source, signer = cached_log(args.events, False, None)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "audit.db"
        shutil.copy(source, path)
        engine = make_engine(sqlite_url(path))
        log, verifier = CustodyLog(engine, signer, ORIGIN), signer.verifier()
        try:
            plain = timed(lambda: verify_database(engine, verifier, ORIGIN), args.reps)
            listened = timed(lambda: verify_database(engine, verifier, ORIGIN, progress=Quiet()),
                             args.reps)
            print(f"verify {args.events:,} entries: {plain:.2f} s; with progress {listened:.2f} s "
                  f"({(listened / plain - 1) * 100:+.1f}%)")
            with engine.begin() as conn:
                conn.execute(tables.custody_subjects.delete())
                conn.execute(tables.custody_subjects_head.update().values(indexed=0))
            build = timed(lambda: refresh(engine), 1)
            print(f"event index from nothing: {build:.2f} s "
                  f"({args.events / build:,.0f} entries/s)")
            first = event_page(engine, EventFilter(limit=1)).items[0].event or {}
            item = (first.get("subject") or {}).get("evidence_id")
            one = timed(lambda: event_page(engine, EventFilter(type="evidence:file:ingested"),
                                           evidence_id=item), 20)
            actor = str(first.get("actor"))
            wide = timed(lambda: event_page(engine, EventFilter(actor=actor, limit=100)), 5)
            print(f"one item's events by type: {one * 1000:.1f} ms; the whole log by actor "
                  f"(100 and the count): {wide * 1000:.0f} ms")
            page = timed(lambda: checkpoint_history(log, verifier, ORIGIN, 0, 50), 5)
            print(f"checkpoint history, first 50 checked: {page * 1000:.0f} ms")

            def explain() -> None:
                proof = log.inclusion_proof(args.events // 3)
                explain_inclusion(proof.index, proof.size, proof.leaf, proof.leaf_hash,
                                  proof.path, proof.checkpoint, verifier, ORIGIN)
            print(f"one entry's proof explained: {timed(explain, 20) * 1000:.1f} ms")
        finally:
            log.close()
            engine.dispose()


if __name__ == "__main__":
    main()
