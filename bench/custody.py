"""Benchmark the custody log on this machine, against raw SQLite/psycopg measured in the same run.

    .venv/bin/python bench/custody.py            # default: 1,000,000-event verify and proofs
    .venv/bin/python bench/custody.py --quick    # 100,000 events, shorter runs
    .venv/bin/python bench/custody.py --json > result.json   # table to stderr, JSON to stdout
    .venv/bin/python bench/custody.py --profile  # also cProfile and time the building blocks

Measured (medians of repetitions; the machine may be shared, so figures with a raw
counterpart are also given as the median of paired ours/raw ratios, and the CPU time
per event is shown next to the wall time):

1. durable batched appends on SQLite (WAL, synchronous=FULL as ``make_engine``
   sets; checked with PRAGMA), 1000 realistic ingest events per ``append``;
2. durable appends on SQLite with one event (and one signed checkpoint) per commit;
3. appends from 8 writer processes on PostgreSQL, 1 and 10 events per ``append``,
   plus a 1-writer reference, in a throwaway database (``--pg-admin-url``, dropped
   after); standalone appends there are grouped (custody/queue.py), so the note
   gives events per checkpoint and the CPU per event of the writers and the
   PostgreSQL server together, which a busy machine disturbs less than the rate;
4. ``verify_database`` over an N-event SQLite log built with batches of 1000 and
   cached under bench/out/ (reruns skip the build; ``--rebuild`` forces it), and
   over a small log written one event per commit (one checkpoint per event);
5. latency of ``CustodyLog.inclusion_proof`` for random entries of that log (stops
   at a time budget), with SQLite's query plan for each statement a proof runs.

Baselines: raw sqlite3 single-row durable commits and 1000-row ``executemany``
batches of blobs the size of our leaves, on connections from ``make_engine`` (so
the same pragmas); raw psycopg one-row commits over 1 and 8 connections; a raw
scan of the cached log (rows + SHA-256, with and without an orjson round trip)
as a floor for verification.

``--profile`` adds unprofiled micro-timings of the building blocks and cProfile
tables (µs per event by layer and by function) for (1), (2), (3) and (4).
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

_BENCH_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _BENCH_DIR.parent
# Run as a script, Python puts bench/ first on sys.path, where this very file
# would shadow the ``custody`` package; the repository root must come first.
if sys.path and Path(sys.path[0] or ".").resolve() == _BENCH_DIR:
    sys.path[0] = str(_REPO_ROOT)

import argparse
import cProfile
import gc
import hashlib
import multiprocessing as mp
import multiprocessing.queues
import multiprocessing.synchronize
import os
import pstats
import random
import shutil
import signal
import sqlite3
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
import psycopg
import sqlalchemy
from sqlalchemy import Engine, create_engine, event, insert, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from bench.common import Result as GoalResult
from bench.common import (
    add_json_option,
    add_load_and_duration,
    add_pg_admin_url_option,
    environment,
    exit_on_sigterm,
    median_paired_ratio,
    new_parser,
    percentile,
    print_environment,
    print_listing,
    publish,
    say,
)
from custody import schema
from custody.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from custody.events import (
    EVENT_VERSION,
    EventDraft,
    Subject,
    build_event,
    decode_event,
    format_time,
    normalise,
)
from custody.log import CustodyLog
from custody.merkle import CompactRange
from custody.note import Ed25519Signer, load_signer_key_file, write_signer_key_file
from custody.proofs import check_inclusion_document
from custody.verify import verify_database
from storage.db import make_engine, migrate, sqlite_url

ORIGIN = "bench.example/custody"
BATCH = 1000
DATASET_VERSION = "v1"  # bump when ingest_drafts changes, to invalidate cached logs
OUT_DIR = _BENCH_DIR / "out"
PROFILE_VERIFY_EVENTS = 100_000  # cProfile of verify on at most this many events


# -- workload ---------------------------------------------------------------


def ingest_drafts(first: int, count: int) -> list[EventDraft]:
    """Events shaped like a recorder dock ingesting files; deterministic per ``first``."""
    drafts = []
    for n in range(first, first + count):
        digest = hashlib.sha256(b"recording-%d" % n).hexdigest()
        serial = f"X{60_000_000 + n % 9973:08d}"  # a fleet of about 10k recorders
        drafts.append(EventDraft(
            type="evidence:file:ingested",
            actor=f"station:ingest-{n % 12:02d}",
            subject=Subject(evidence_id=f"EV-2026-{n:010d}", sha256=digest),
            details={
                "size": 50_000_000 + (n * 7919) % 3_900_000_000,
                "source_path": f"/media/{serial}/DCIM/100AXON/AXON{n % 100_000:05d}.MP4",
                "device_serial": serial,
                "object_key": f"evidence/{digest[:2]}/{digest[2:4]}/{digest}.mp4",
            },
        ))
    return drafts


def typical_leaf_size() -> int:
    now = datetime.now(UTC)
    leaves = [build_event(d, 123_456 + i, "ab" * 32, now)
              for i, d in enumerate(ingest_drafts(0, 100))]
    return round(statistics.mean(len(leaf) for leaf in leaves))


# -- results ----------------------------------------------------------------


@dataclass(kw_only=True)
class Result(GoalResult):
    """A figure that may also be given as a ratio to a baseline of the same run."""

    ratio: float | None = None  # median of paired ours/raw ratios
    ratio_to: str | None = None

    def to_json(self) -> dict[str, Any]:
        document = super().to_json()
        note = document.pop("note")  # the ratio keys go before it, as in earlier reports
        return {**document, "ratio": self.ratio, "ratio_to": self.ratio_to, "note": note}


@dataclass
class Run:
    env: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    baselines: list[Result] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    diagnostics: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env, "config": self.config,
            "results": {r.key: r.to_json() for r in self.results},
            "baselines": {r.key: r.to_json() for r in self.baselines},
            "components_us": self.components, "profiles": self.profiles,
            "diagnostics": self.diagnostics, "warnings": self.warnings,
        }


# -- SQLite helpers ---------------------------------------------------------


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def new_log(path: Path, signer: Ed25519Signer | None = None) -> tuple[CustodyLog, Engine]:
    remove_sqlite(path)
    engine = make_engine(sqlite_url(path))
    migrate(engine)
    return CustodyLog(engine, signer or Ed25519Signer.generate(ORIGIN), ORIGIN), engine


def sqlite_pragmas(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    return {"journal_mode": mode, "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
            .get(int(sync or 0), sync)}


def raw_connection(path: Path) -> sqlite3.Connection:
    """A bare sqlite3 connection carrying exactly the pragmas ``make_engine`` applies."""
    remove_sqlite(path)
    driver = make_engine(sqlite_url(path)).raw_connection().driver_connection
    if not isinstance(driver, sqlite3.Connection):
        raise TypeError(f"expected a sqlite3 connection, got {type(driver).__name__}")
    driver.isolation_level = None  # transactions are spelled out, as the log's engine does
    return driver


def raw_table(con: sqlite3.Connection, pk_type: str) -> None:
    con.execute(f"CREATE TABLE entries (seq {pk_type} NOT NULL, leaf BLOB NOT NULL, "
                "leaf_hash BLOB NOT NULL, PRIMARY KEY (seq))")


def raw_single_commits(path: Path, commits: int, leaf_size: int) -> float:
    """Rows/s, one INSERT per durable commit."""
    con = raw_connection(path)
    raw_table(con, "INTEGER")
    leaf, digest = os.urandom(leaf_size), os.urandom(32)
    start = time.perf_counter()
    for seq in range(commits):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO entries VALUES (?, ?, ?)", (seq, leaf, digest))
        con.execute("COMMIT")
    rate = commits / (time.perf_counter() - start)
    con.close()
    remove_sqlite(path)
    return rate


def raw_batched_rows(path: Path, batches: int, leaf_size: int, pk_type: str) -> float:
    """Rows/s, ``executemany`` of BATCH rows per durable commit."""
    con = raw_connection(path)
    raw_table(con, pk_type)
    leaf, digest = os.urandom(leaf_size), os.urandom(32)
    rows = [[(b * BATCH + i, leaf, digest) for i in range(BATCH)] for b in range(batches)]
    start = time.perf_counter()
    for batch in rows:
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO entries VALUES (?, ?, ?)", batch)
        con.execute("COMMIT")
    rate = batches * BATCH / (time.perf_counter() - start)
    con.close()
    remove_sqlite(path)
    return rate


# -- 1 and 2: SQLite appends ------------------------------------------------


def bench_sqlite_batched(run: Run, scratch: Path, reps: int, batches: int, leaf_size: int) -> None:
    say(f"(1) SQLite batched appends: {reps} x {batches} batches of {BATCH}, raw baseline paired")
    drafts = [ingest_drafts(b * BATCH, BATCH) for b in range(batches)]
    ours: list[float] = []
    raw_int: list[float] = []
    raw_bigint: list[float] = []
    cpu_us: list[float] = []
    for rep in range(reps):
        raw_int.append(raw_batched_rows(scratch / "raw.db", batches, leaf_size, "INTEGER"))
        raw_bigint.append(raw_batched_rows(scratch / "raw.db", batches, leaf_size, "BIGINT"))
        log, engine = new_log(scratch / "batched.db")
        if rep == 0:
            run.env["sqlite_pragmas_of_log"] = sqlite_pragmas(engine)
        start, cpu = time.perf_counter(), time.process_time()
        for batch in drafts:
            log.append(batch)
        ours.append(batches * BATCH / (time.perf_counter() - start))
        cpu_us.append((time.process_time() - cpu) * 1e6 / (batches * BATCH))
        engine.dispose()
        remove_sqlite(scratch / "batched.db")
    run.results.append(Result(
        "sqlite_batched_appends_per_s", f"SQLite durable appends, batches of {BATCH}",
        "events/s", ours, goal=30_000, ratio=median_paired_ratio(ours, raw_int),
        ratio_to="raw_batched_rows_per_s",
        note=f"{batches * BATCH} events per rep into a fresh log; CPU "
             f"{statistics.median(cpu_us):.1f} µs/event, wall "
             f"{1e6 / statistics.median(ours):.1f}"))
    run.baselines.append(Result(
        "raw_batched_rows_per_s", f"raw sqlite3 executemany {BATCH} rows/commit (INTEGER PK)",
        "rows/s", raw_int, note=f"{leaf_size}-byte blob + 32-byte hash per row"))
    run.baselines.append(Result(
        "raw_batched_rows_bigint_pk_per_s",
        f"raw sqlite3 executemany {BATCH} rows/commit (BIGINT PK, as the log's DDL)", "rows/s",
        raw_bigint, note="BIGINT PRIMARY KEY is not a rowid alias: a second b-tree per table"))


def bench_sqlite_single(run: Run, scratch: Path, reps: int, commits: int,
                        leaf_size: int) -> tuple[Path, Ed25519Signer]:
    """Returns the last single-commit log and its key, for the many-checkpoints verify."""
    say(f"(2) SQLite one event per commit: {reps} x {commits} commits, raw baseline paired")
    drafts = ingest_drafts(BATCH, commits)
    ours: list[float] = []
    raw: list[float] = []
    latencies: list[float] = []
    cpu_us: list[float] = []
    path = scratch / "single.db"
    signer = Ed25519Signer.generate(ORIGIN)
    for _ in range(reps):
        raw.append(raw_single_commits(scratch / "raw.db", commits, leaf_size))
        log, engine = new_log(path, signer)
        log.append(ingest_drafts(0, BATCH))  # a non-trivial tree to append to
        start, cpu = time.perf_counter(), time.process_time()
        for draft in drafts:
            t0 = time.perf_counter()
            log.append([draft])
            latencies.append(time.perf_counter() - t0)
        ours.append(commits / (time.perf_counter() - start))
        cpu_us.append((time.process_time() - cpu) * 1e6 / commits)
        engine.dispose()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    run.results.append(Result(
        "sqlite_single_appends_per_s", "SQLite durable appends, 1 event (+1 checkpoint) per commit",
        "events/s", ours, goal=2_000, ratio=median_paired_ratio(ours, raw),
        ratio_to="raw_single_commits_per_s",
        note=f"commit latency p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms; CPU "
             f"{statistics.median(cpu_us):.0f} µs/commit"))
    run.baselines.append(Result(
        "raw_single_commits_per_s", "raw sqlite3 one-row durable commits", "commits/s", raw,
        note="the fsync floor for a commit on this disk"))
    return path, signer


# -- 3: PostgreSQL, 8 writer processes --------------------------------------


def _pg_writer(url: str, signer_key: str, writer: int, batch_size: int, duration: float,
               ready: multiprocessing.queues.Queue[Any], start: multiprocessing.synchronize.Event,
               results: multiprocessing.queues.Queue[Any],
               stop: multiprocessing.synchronize.Event) -> None:
    try:
        engine = make_engine(url)
        log = CustodyLog(engine, Ed25519Signer.from_signer_key(signer_key), ORIGIN)
        # One append before the clock starts opens this writer's connections.
        log.append(ingest_drafts(writer * 1_000_000_000 + 999_999_999, 1))
        ready.put(writer)
        start.wait()
        began = time.monotonic()
        deadline = began + duration
        count = 0
        latencies: list[float] = []
        while True:
            t0 = time.monotonic()
            if t0 >= deadline:
                break
            log.append(ingest_drafts(writer * 1_000_000_000 + count, batch_size))
            latencies.append(time.monotonic() - t0)
            count += batch_size
        results.put(("ok", writer, count, began, time.monotonic(), latencies))
        stop.wait(120)  # stay connected until the parent has read the CPU counters
        engine.dispose()
    except BaseException as exc:  # report every failure to the parent, then exit non-zero
        results.put(("error", writer, f"{exc.__class__.__name__}: {exc}"))
        ready.put(writer)
        raise


def _cpu_ticks(pids: set[int]) -> int:
    """CPU ticks used so far by ``pids`` and every PostgreSQL server process."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if int(entry.name) in pids or name.startswith("postgres"):
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


@dataclass(frozen=True)
class PgRun:
    total: int
    elapsed: float
    latencies: list[float]
    cpu_us_per_event: float  # writers and PostgreSQL together


def run_pg_writers(url: str, signer: Ed25519Signer, writers: int, batch_size: int,
                   duration: float) -> PgRun:
    ctx = mp.get_context("spawn")
    ready: multiprocessing.queues.Queue[Any] = ctx.Queue()
    results: multiprocessing.queues.Queue[Any] = ctx.Queue()
    start, stop = ctx.Event(), ctx.Event()
    procs = [ctx.Process(target=_pg_writer, args=(url, signer.signer_key(), w, batch_size,
                                                  duration, ready, start, results, stop))
             for w in range(writers)]
    for proc in procs:
        proc.start()
    try:
        for _ in range(writers):
            ready.get(timeout=120)
        pids = {proc.pid for proc in procs if proc.pid is not None}
        ticks = _cpu_ticks(pids)
        start.set()
        outcomes = [results.get(timeout=duration + 180) for _ in range(writers)]
        ticks = _cpu_ticks(pids) - ticks
    finally:
        stop.set()
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.terminate()
    errors = [o for o in outcomes if o[0] != "ok"]
    if errors:
        raise RuntimeError(f"writer {errors[0][1]} failed: {errors[0][2]}")
    total = sum(o[2] for o in outcomes)
    elapsed = max(o[4] for o in outcomes) - min(o[3] for o in outcomes)
    latencies = [lat for o in outcomes for lat in o[5]]
    cpu_us = ticks / os.sysconf("SC_CLK_TCK") * 1e6 / max(total, 1)
    return PgRun(total, elapsed, latencies, cpu_us)


@dataclass(frozen=True)
class PgCase:
    writers: int
    batch: int
    reps: int
    goal: float | None  # None for the 1-writer reference, which only explains the others


def bench_postgres(run: Run, admin_url: str, cases: Sequence[PgCase], duration: float,
                   profile_top: int | None) -> None:
    say(f"(3) PostgreSQL: {[(c.writers, c.batch) for c in cases]} (writers, events per "
        f"commit), {duration:g} s per rep")
    name = f"evidence_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            run.env["postgres"] = {
                setting: conn.execute(text(f"SHOW {setting}")).scalar()
                for setting in ("server_version", "synchronous_commit", "fsync",
                                "wal_sync_method", "commit_delay", "shared_buffers")}
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        run.warnings.append(f"PostgreSQL skipped: cannot create a database via {admin_url}: "
                            f"{exc.__class__.__name__}: {exc}".splitlines()[0])
        say(run.warnings[-1])
        return
    database_url = admin_url.rsplit("/", 1)[0] + "/" + name
    signer = Ed25519Signer.generate(ORIGIN)
    try:
        raw: dict[int, list[float]] = {}
        for connections in sorted({c.writers for c in cases}):
            raw[connections] = [raw_pg_commits(database_url, connections, duration / 2)]
            run.baselines.append(Result(
                f"raw_pg_{connections}conn_commits_per_s",
                f"raw psycopg one-row commits, {connections} connection(s)", "commits/s",
                raw[connections], note="1 rep; PostgreSQL's group commit lifts the "
                "many-connection figure"))
        for case in cases:
            bench_pg_case(run, database_url, signer, case, duration)
            run.results[-1].ratio = run.results[-1].value / raw[case.writers][0]
            run.results[-1].ratio_to = f"raw_pg_{case.writers}conn_commits_per_s"
        if profile_top is not None:
            profile_pg_single(run, database_url, signer, profile_top)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def raw_pg_commits(database_url: str, connections: int, duration: float) -> float:
    """One-row INSERT commits/s over ``connections`` psycopg connections (threads)."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    table = f"raw_entries_{connections}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (seq bigint PRIMARY KEY, leaf bytea NOT NULL, "
                     "leaf_hash bytea NOT NULL)")
    leaf, digest = os.urandom(typical_leaf_size()), os.urandom(32)
    counts = [0] * connections
    start = threading.Barrier(connections + 1)
    deadline = 0.0

    def commit_loop(worker: int) -> None:
        with psycopg.connect(dsn) as conn:
            start.wait()
            seq = worker * 1_000_000_000
            while time.monotonic() < deadline:
                conn.execute(f"INSERT INTO {table} VALUES (%s, %s, %s)", (seq, leaf, digest))
                conn.commit()
                seq += 1
            counts[worker] = seq - worker * 1_000_000_000

    threads = [threading.Thread(target=commit_loop, args=(w,)) for w in range(connections)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + duration
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - began)


def pg_schema_url(database_url: str, schema_name: str) -> str:
    setup = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with setup.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema_name}"'))
    setup.dispose()
    return f"{database_url}?options=-csearch_path%3D{schema_name}"


def profile_pg_single(run: Run, database_url: str, signer: Ed25519Signer, top: int) -> None:
    say("profiling single-event commits on PostgreSQL (one writer, in-process)")
    engine = make_engine(pg_schema_url(database_url, "profile"))
    migrate(engine)
    log = CustodyLog(engine, signer, ORIGIN)
    log.append(ingest_drafts(0, BATCH))
    drafts = ingest_drafts(BATCH, 600)
    t0 = time.perf_counter()
    for draft in drafts[:300]:
        log.append([draft])
    plain = time.perf_counter() - t0
    rest = drafts[300:]
    run.profiles["pg_single"] = profile(
        f"(3) PostgreSQL, 1 writer, {len(rest)} single-event commits",
        lambda: [log.append([d]) for d in rest], len(rest), top, plain)
    engine.dispose()


def bench_pg_case(run: Run, database_url: str, signer: Ed25519Signer, case: PgCase,
                  duration: float) -> None:
    rates: list[float] = []
    latencies: list[float] = []
    cpu: list[float] = []
    groups: list[float] = []
    verified: list[tuple[bool, int, float]] = []
    for rep in range(case.reps):
        url = pg_schema_url(database_url, f"w{case.writers}_b{case.batch}_r{rep}")
        engine = make_engine(url)
        migrate(engine)
        measured = run_pg_writers(url, signer, case.writers, case.batch, duration)
        rates.append(measured.total / measured.elapsed)
        latencies.extend(measured.latencies)
        cpu.append(measured.cpu_us_per_event)
        t0 = time.perf_counter()
        report = verify_database(engine, signer.verifier(), ORIGIN)
        verify_s = time.perf_counter() - t0
        stored = measured.total + case.writers  # and each writer's warm-up event
        verified.append((report.ok and report.entries == stored, measured.total, verify_s))
        groups.append(stored / max(report.checkpoints, 1))
        engine.dispose()
        say(f"    {case.writers} writer(s), batch {case.batch}, rep {rep}: {measured.total} "
            f"events in {measured.elapsed:.1f} s, verify ok={report.ok} ({verify_s:.1f} s)")
    all_ok = all(v[0] for v in verified)
    if not all_ok:
        run.warnings.append(f"a PostgreSQL log ({case}) did NOT verify")
    label = (f"PostgreSQL {case.writers} writers, {case.batch} event(s) per append"
             if case.goal is not None else
             f"PostgreSQL 1 writer, {case.batch} event per append (reference)")
    run.results.append(Result(
        f"pg_{case.writers}w_batch{case.batch}_appends_per_s", label, "events/s", rates,
        goal=case.goal,
        note=f"append latency p50 {percentile(latencies, 50) * 1e3:.1f} ms, "
             f"p99 {percentile(latencies, 99) * 1e3:.1f} ms; CPU (writers + PostgreSQL) "
             f"{statistics.median(cpu):.0f} µs/event; {statistics.median(groups):.1f} events "
             f"per checkpoint; every log verified: {all_ok} "
             f"(last: {verified[-1][1]} events in {verified[-1][2]:.1f} s)"))


# -- 4 and 5: the cached big log --------------------------------------------


def cached_log(events: int, rebuild: bool, run: Run | None) -> tuple[Path, Ed25519Signer]:
    """An ``events``-entry log built with batched appends, kept under bench/out/."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"custody-{DATASET_VERSION}-{events}.db"
    key = OUT_DIR / f"custody-{DATASET_VERSION}-{events}.key"
    if path.exists() and key.exists() and not rebuild:
        say(f"using cached {events}-event log {path.relative_to(_REPO_ROOT)}")
        return path, load_signer_key_file(key)
    remove_sqlite(path)
    key.unlink(missing_ok=True)
    partial = path.with_name(path.name + ".partial")
    say(f"building the {events}-event log (cached for reruns) ...")
    signer = Ed25519Signer.generate(ORIGIN)
    log, engine = new_log(partial, signer)
    appending = 0.0
    last_report = time.monotonic()
    for first in range(0, events, BATCH):
        drafts = ingest_drafts(first, min(BATCH, events - first))
        t0 = time.perf_counter()
        log.append(drafts)
        appending += time.perf_counter() - t0
        if time.monotonic() - last_report > 15:
            last_report = time.monotonic()
            done = first + len(drafts)
            say(f"    {done} / {events} ({done / appending:,.0f}/s)")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    write_signer_key_file(key, signer)
    os.replace(partial, path)
    remove_sqlite(partial)
    if run is not None:
        run.results.append(Result(
            "sqlite_build_appends_per_s", f"SQLite batched appends while building {events:,}",
            "events/s", [events / appending], note="one pass; only when the cache was built"))
    return path, signer


def bench_verify(run: Run, path: Path, signer: Ed25519Signer, events: int,
                 max_reps: int, budget_s: float) -> None:
    say(f"(4) verify_database over {events:,} events "
        f"(up to {max_reps} reps, {budget_s:g} s budget)")
    engine = make_engine(sqlite_url(path))
    rates: list[float] = []
    spent = 0.0
    ok = True
    checkpoints = 0
    cpu_us: list[float] = []
    while len(rates) < max_reps and (not rates or spent + spent / len(rates) <= budget_s):
        t0, cpu = time.perf_counter(), time.process_time()
        report = verify_database(engine, signer.verifier(), ORIGIN)
        elapsed = time.perf_counter() - t0
        cpu_us.append((time.process_time() - cpu) * 1e6 / max(1, report.entries))
        spent += elapsed
        rates.append(report.entries / elapsed)
        checkpoints = report.checkpoints
        if not report.ok or report.entries != events:
            ok = False
            run.warnings.append(f"the cached log did not verify ({report.entries} entries, "
                                f"problems {[p.message for p in report.problems[:3]]}); rerun "
                                "with --rebuild")
        say(f"    {elapsed:.1f} s, ok={report.ok}")
    engine.dispose()
    floor_hash, floor_json = raw_scan_floors(path)
    run.results.append(Result(
        "verify_events_per_s", f"verify_database, {events:,}-event log", "events/s", rates,
        goal=300_000, ratio=statistics.median(rates) / floor_json,
        ratio_to="raw_scan_sha256_orjson_per_s",
        note=f"{checkpoints} checkpoints; report ok: {ok}; CPU "
             f"{statistics.median(cpu_us):.1f} µs/event, wall "
             f"{1e6 / statistics.median(rates):.1f}"))
    run.baselines.append(Result(
        "raw_scan_sha256_per_s", "raw sqlite3 scan of the log + SHA-256 per leaf", "rows/s",
        [floor_hash], note="1 rep; the read + leaf-hash floor of a verify"))
    run.baselines.append(Result(
        "raw_scan_sha256_orjson_per_s",
        "raw scan + SHA-256 + orjson loads/dumps round trip per leaf", "rows/s", [floor_json],
        note="1 rep; adds the canonical-form check floor"))


def raw_scan_floors(path: Path) -> tuple[float, float]:
    sha256 = hashlib.sha256
    con = sqlite3.connect(path)
    rates = []
    for with_json in (False, True):
        t0 = time.perf_counter()
        rows = 0
        hashes = bytearray()
        loads, dumps, sort = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
        for leaf, _stored in con.execute(
                "SELECT leaf, leaf_hash FROM custody_entries ORDER BY seq"):
            hashes += sha256(b"\x00" + leaf).digest()
            if with_json and dumps(loads(leaf), option=sort) != leaf:
                raise AssertionError("a cached leaf is not canonical")
            rows += 1
        rates.append(rows / (time.perf_counter() - t0))
    con.close()
    return rates[0], rates[1]


def bench_verify_many_checkpoints(run: Run, path: Path, signer: Ed25519Signer) -> None:
    """A log written one event per commit carries one checkpoint per event to verify."""
    engine = make_engine(sqlite_url(path))
    t0 = time.perf_counter()
    report = verify_database(engine, signer.verifier(), ORIGIN)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    run.results.append(Result(
        "verify_single_commit_log_events_per_s",
        "verify_database, log written 1 event per commit", "events/s",
        [report.entries / elapsed],
        note=f"{report.entries} events, {report.checkpoints} checkpoints, ok={report.ok}, 1 rep"))


def proof_query_plans(engine: Engine, log: CustodyLog, index: int) -> list[tuple[str, str]]:
    """SQLite's plan for every statement one ``inclusion_proof`` call runs."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                _executemany: bool) -> None:
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        log.inclusion_proof(index)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        for statement, parameters in captured:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            steps = [str(row[3]) for row in
                     driver.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            plans.append((" ".join(statement.split()), "; ".join(steps)))
    return plans


def bench_proofs(run: Run, path: Path, signer: Ed25519Signer, events: int, count: int,
                 budget_s: float) -> None:
    say(f"(5) {count} inclusion proofs at random indices of {events:,} "
        f"(stops after {budget_s:g} s)")
    engine = make_engine(sqlite_url(path))
    log = CustodyLog(engine, signer, ORIGIN)
    rng = random.Random(20260509)
    for index in rng.sample(range(events), 3):
        log.inclusion_proof(index)  # warm the pool and the statement cache
    for statement, plan in proof_query_plans(engine, log, rng.randrange(events)):
        run.diagnostics.append(f"inclusion_proof query: {statement[:90]} ... => {plan[:150]}")
        # A SCAN under ORDER BY ... LIMIT walks the primary key and stops early; others
        # read the whole table, which grows with the log.
        if " SCAN custody_" in f" {plan}" and " LIMIT " not in statement:
            run.warnings.append(f"an inclusion_proof query reads a whole table ({plan[:60]}): "
                                f"{statement[:150]}")
    indices = [rng.randrange(events) for _ in range(count)]
    timings: list[float] = []
    proofs = []
    deadline = time.monotonic() + budget_s
    for index in indices:
        t0 = time.perf_counter()
        proofs.append(log.inclusion_proof(index))
        timings.append((time.perf_counter() - t0) * 1e3)
        if time.monotonic() > deadline:
            run.warnings.append(f"inclusion proofs: time budget of {budget_s:g} s reached after "
                                f"{len(timings)} of {count} proofs")
            break
    engine.dispose()
    verifier = signer.verifier()
    failed = 0
    for proof in proofs:
        try:
            check_inclusion_document(proof.to_json(), verifier)
        except Exception:  # any failure counts; the proof must check out offline
            failed += 1
    if failed:
        run.warnings.append(f"{failed} of {len(proofs)} inclusion proofs did not verify")
    note = (f"{len(timings)} proofs, min {min(timings):.2f} ms, max {max(timings):.2f} ms; "
            f"all verified offline: {failed == 0}")
    run.results.append(Result("proof_median_ms", "inclusion_proof latency, median", "ms",
                              [statistics.median(timings)], goal=5, higher_is_better=False,
                              note=note))
    run.results.append(Result("proof_p99_ms", "inclusion_proof latency, p99", "ms",
                              [percentile(timings, 99)], goal=5, higher_is_better=False))


# -- profiling --------------------------------------------------------------


def _short(file: str, line: int, func: str) -> str:
    if file == "~":
        return func
    for marker in ("site-packages/", str(_REPO_ROOT) + "/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    else:
        file = Path(file).name
    return f"{file}:{line}({func})"


def _is_project(file: str) -> bool:
    return (file.startswith(str(_REPO_ROOT)) and "/.venv/" not in file
            and not file.startswith(str(_BENCH_DIR)))


def _layer(file: str, func: str) -> str:
    if "sqlite3." in func:
        return "sqlite3 C calls (execute/commit/fetch; includes fsync)"
    if "/sqlalchemy/" in file:
        return "SQLAlchemy (Python)"
    if "/psycopg/" in file or "psycopg" in func:
        return "psycopg (incl. waiting for the server)"
    if "ed25519" in func.lower() or "/cryptography/" in file:
        return "Ed25519 sign/verify"
    if "orjson" in func:
        return "orjson"
    if "_hashlib" in func or "'_hashlib." in func:
        return "hashlib (SHA-256)"
    if "re.Pattern" in func or "/re/" in file:
        return "regular expressions"
    if _is_project(file):
        return "project Python (custody/, storage/)"
    return "other builtins / stdlib"


def profile(label: str, work: Callable[[], object], events: int, top: int,
            plain_seconds: float | None, unit: str = "event") -> dict[str, Any]:
    """cProfile ``work``; µs per ``unit`` (``events`` of them) by function and by layer."""
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    work()
    prof.disable()
    elapsed = time.perf_counter() - t0
    raw_stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = vars(
        pstats.Stats(prof))["stats"]
    rows: list[dict[str, Any]] = []
    layers: dict[str, float] = {}
    for (file, line, func), (_prim, calls, tottime, cumtime, _callers) in raw_stats.items():
        rows.append({"function": _short(file, line, func), "calls_per_event": calls / events,
                     "self_us_per_event": tottime * 1e6 / events,
                     "cum_us_per_event": cumtime * 1e6 / events,
                     "ours": _is_project(file)})
        name = _layer(file, func)
        layers[name] = layers.get(name, 0.0) + tottime * 1e6 / events
    by_self = sorted(rows, key=lambda r: -r["self_us_per_event"])[:top]
    ours_by_cum = sorted((r for r in rows if r["ours"]), key=lambda r: -r["cum_us_per_event"])[:top]
    return {
        "label": label, "events": events, "unit": unit,
        "profiled_us_per_event": elapsed * 1e6 / events,
        "unprofiled_us_per_event": None if plain_seconds is None else plain_seconds * 1e6 / events,
        "layers_self_us_per_event": dict(sorted(layers.items(), key=lambda kv: -kv[1])),
        "top_self": by_self, "project_by_cumulative": ours_by_cum,
    }


def run_profiles(run: Run, scratch: Path, events: int, rebuild: bool, top: int) -> None:
    say("profiling (1) batched appends, (2) single-event commits, (4) verify")
    batches = [ingest_drafts(b * BATCH, BATCH) for b in range(10)]
    log, engine = new_log(scratch / "prof-plain.db")
    t0 = time.perf_counter()
    for batch in batches:
        log.append(batch)
    plain = time.perf_counter() - t0
    engine.dispose()
    log, engine = new_log(scratch / "prof-batched.db")
    run.profiles["batched"] = profile(
        f"(1) {len(batches)} appends of {BATCH}",
        lambda: [log.append(b) for b in batches], len(batches) * BATCH, top, plain)
    engine.dispose()

    singles = ingest_drafts(BATCH, 1000)
    single_signer = Ed25519Signer.generate(ORIGIN)
    log, engine = new_log(scratch / "prof-single.db", single_signer)
    log.append(ingest_drafts(0, BATCH))
    t0 = time.perf_counter()
    for draft in singles[:500]:
        log.append([draft])
    plain = time.perf_counter() - t0
    rest = singles[500:]
    run.profiles["single"] = profile(
        f"(2) {len(rest)} single-event commits", lambda: [log.append([d]) for d in rest],
        len(rest), top, plain)
    t0 = time.perf_counter()
    verify_database(engine, single_signer.verifier(), ORIGIN)
    plain = time.perf_counter() - t0
    checkpoints = 1 + len(singles)
    run.profiles["verify_checkpoints"] = profile(
        f"(4b) verify_database of that log: {BATCH + len(singles)} events, {checkpoints} "
        "checkpoints", lambda: verify_database(engine, single_signer.verifier(), ORIGIN),
        checkpoints, top, plain, unit="checkpoint")
    engine.dispose()

    size = min(events, PROFILE_VERIFY_EVENTS)
    path, signer = cached_log(size, rebuild, None)
    engine = make_engine(sqlite_url(path))
    t0 = time.perf_counter()
    verify_database(engine, signer.verifier(), ORIGIN)
    plain = time.perf_counter() - t0
    run.profiles["verify"] = profile(
        f"(4) verify_database of {size:,} events (batches of {BATCH})",
        lambda: verify_database(engine, signer.verifier(), ORIGIN), size, top, plain)
    engine.dispose()


def time_per_call(work: Callable[[], object], calls: int) -> float:
    """µs per call: best of 3 (micro-timings; the minimum is the least noisy estimate)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(calls):
            work()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best * 1e6


def component_timings(run: Run, scratch: Path) -> None:
    """Unprofiled µs of the per-event and per-commit building blocks."""
    say("component micro-timings")
    now = datetime.now(UTC)
    drafts = ingest_drafts(0, 2000)
    leaves = [build_event(d, i, "ab" * 32, now) for i, d in enumerate(drafts)]
    signer = Ed25519Signer.generate(ORIGIN)
    note = sign_checkpoint(Checkpoint(ORIGIN, 1_000_000, b"\x07" * 32), signer)
    verifier = signer.verifier()
    message = b"x" * 80
    signature = signer.sign(message)
    drafts_iter = iter(drafts * 1000)
    leaves_iter = iter(leaves * 1000)
    compact = CompactRange()
    digest = hashlib.sha256(b"leaf").digest()
    sort = orjson.OPT_SORT_KEYS

    def one_build() -> bytes:
        return build_event(next(drafts_iter), 1_000_000, "ab" * 32, now)

    def one_decode() -> object:
        return decode_event(next(leaves_iter))

    def one_roundtrip() -> bool:
        leaf = next(leaves_iter)
        return orjson.dumps(orjson.loads(leaf), option=sort) == leaf

    def one_append() -> object:
        return compact.append(digest)

    sample = drafts[0]
    event: dict[str, Any] = {
        "v": EVENT_VERSION, "seq": 1_000_000, "prev": "ab" * 32, "type": sample.type,
        "actor": sample.actor, "subject": sample.subject.to_json() if sample.subject else None,
        "time": format_time(now), "details": sample.details}

    entries = [
        ("per event (write)", "build_event (normalise + orjson + checks)", one_build, 20_000),
        ("per event (write)", "  of which format_time(now)", lambda: format_time(now), 20_000),
        ("per event (write)", "  of which normalise(event)", lambda: normalise(event), 20_000),
        ("per event (write)", "SHA-256 leaf hash", lambda: hashlib.sha256(b"\x00" + leaves[0])
         .digest(), 50_000),
        ("per event (write)", "CompactRange.append", one_append, 50_000),
        ("per event (verify)", "decode_event", one_decode, 20_000),
        ("per event (verify)", "floor: orjson loads + dumps + compare", one_roundtrip, 20_000),
        ("per commit", "sign_checkpoint", lambda: sign_checkpoint(
            Checkpoint(ORIGIN, 1_000_000, b"\x07" * 32), signer), 1_000),
        ("per commit", "floor: Ed25519 sign", lambda: signer.sign(message), 1_000),
        ("per checkpoint (verify)", "open_checkpoint", lambda: open_checkpoint(
            note, verifier, ORIGIN), 1_000),
        ("per checkpoint (verify)", "floor: Ed25519 verify", lambda: verifier.verify(
            message, signature), 1_000),
    ]
    for scope, name, work, calls in entries:
        run.components.append({"scope": scope, "what": name, "us": time_per_call(work, calls)})

    # SQL layer cost of inserting one entry row: SQLAlchemy Core vs the bare driver,
    # inside a transaction that is rolled back (no fsync in either figure).
    log, engine = new_log(scratch / "components.db")
    rows = [{"seq": i, "leaf": leaf, "leaf_hash": digest} for i, leaf in enumerate(leaves[:BATCH])]
    tuples = [(r["seq"], r["leaf"], r["leaf_hash"]) for r in rows]

    def sqlalchemy_insert() -> None:
        with engine.connect() as conn:
            conn.execute(insert(schema.entries), rows)
            conn.rollback()

    def driver_insert() -> None:
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            driver.execute("BEGIN IMMEDIATE")
            driver.executemany("INSERT INTO custody_entries (seq, leaf, leaf_hash) "
                               "VALUES (?, ?, ?)", tuples)
            driver.execute("ROLLBACK")

    run.components.append({"scope": "per event (write)",
                           "what": f"SQLAlchemy insert(entries), {BATCH} rows, per row",
                           "us": time_per_call(sqlalchemy_insert, 20) / BATCH})
    run.components.append({"scope": "per event (write)",
                           "what": f"floor: sqlite3 executemany, {BATCH} rows, per row",
                           "us": time_per_call(driver_insert, 20) / BATCH})

    # A whole append in a transaction that is rolled back: everything but the durable commit.
    log.append(ingest_drafts(0, BATCH))
    one, many = ingest_drafts(BATCH, 1), ingest_drafts(BATCH, BATCH)

    def append_rolled_back(batch: list[EventDraft]) -> None:
        with engine.connect() as conn:
            conn.begin()
            log.append(batch, conn=conn)
            conn.rollback()

    run.components.append({"scope": "per commit",
                           "what": "append([1 event]) rolled back: all but the commit",
                           "us": time_per_call(lambda: append_rolled_back(one), 300)})
    run.components.append({"scope": "per event (write)",
                           "what": f"append({BATCH} events) rolled back, per event",
                           "us": time_per_call(lambda: append_rolled_back(many), 5) / BATCH})
    engine.dispose()


# -- output -----------------------------------------------------------------


def fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def print_table(run: Run, out: TextIO) -> None:
    def line(text: str = "") -> None:
        print(text, file=out)

    print_environment(run.env, run.config, out)
    line()
    line("== results (median of reps) ==")
    header = f"  {'metric':<58} {'median':>12} {'unit':<9} {'reps: min..max':>24} {'goal':>9} " \
             f"{'met':>4} {'vs raw':>8}"
    line(header)
    for r in run.results:
        spread = f"{len(r.samples)}: {fmt(min(r.samples))}..{fmt(max(r.samples))}"
        goal = "" if r.goal is None else ("≥" if r.higher_is_better else "≤") + fmt(r.goal)
        met = {None: "", True: "yes", False: "NO"}[r.meets_goal]
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        line(f"  {r.label:<58} {fmt(r.value):>12} {r.unit:<9} {spread:>24} {goal:>9} "
             f"{met:>4} {ratio:>8}")
        if r.note:
            line(f"      {r.note}" + (f"  [ratio vs {r.ratio_to}]" if r.ratio_to else ""))
    line()
    line("== baselines (same run, same pragmas) ==")
    for r in run.baselines:
        spread = f"{len(r.samples)}: {fmt(min(r.samples))}..{fmt(max(r.samples))}"
        line(f"  {r.label:<72} {fmt(r.value):>12} {r.unit:<9} {spread:>24}")
        if r.note:
            line(f"      {r.note}")
    if run.components:
        line()
        line("== component micro-timings (unprofiled, best of 3) ==")
        for c in run.components:
            line(f"  {c['scope']:<24} {c['what']:<56} {c['us']:>9.2f} µs")
    for prof in run.profiles.values():
        line()
        line(f"== cProfile: {prof['label']} ==")
        unprofiled = prof["unprofiled_us_per_event"]
        unit = prof["unit"]
        u = unit[:2]
        line(f"  µs/{unit}: {prof['profiled_us_per_event']:.1f} under cProfile, "
             f"{unprofiled:.1f} without (profiler overhead inflates small calls)")
        line(f"  by layer (self time, µs/{unit}):")
        for layer, us in prof["layers_self_us_per_event"].items():
            line(f"    {us:9.2f}  {layer}")
        line(f"  top functions by self time: {' ' * 44} {'calls/' + u:>9} "
             f"{'self µs/' + u:>11} {'cum µs/' + u:>10}")
        for row in prof["top_self"]:
            line(f"    {row['function'][:74]:<74} {row['calls_per_event']:9.2f} "
                 f"{row['self_us_per_event']:11.2f} {row['cum_us_per_event']:10.2f}")
        line("  project functions by cumulative time:")
        for row in prof["project_by_cumulative"]:
            line(f"    {row['function'][:74]:<74} {row['calls_per_event']:9.2f} "
                 f"{row['self_us_per_event']:11.2f} {row['cum_us_per_event']:10.2f}")
    print_listing("diagnostics", run.diagnostics, out)
    print_listing("warnings", run.warnings, out, marker="! ")


# -- main -------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = new_parser(__doc__, "100,000 events and shorter runs (about 2 minutes)")
    parser.add_argument("--events", type=int, default=None,
                        help="size of the verify/proof log (default 1,000,000; --quick 100,000)")
    add_json_option(parser)
    parser.add_argument("--profile", action="store_true",
                        help="cProfile (1)-(4) and time the building blocks (adds ~2 min)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached log")
    parser.add_argument("--skip-postgres", action="store_true")
    add_pg_admin_url_option(parser)
    parser.add_argument("--pg-writers", type=int, default=8)
    parser.add_argument("--proofs", type=int, default=1000)
    parser.add_argument("--top", type=int, default=15, help="rows per profile table")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)  # so ``finally`` removes the scratch files
    events = args.events or (100_000 if args.quick else 1_000_000)
    if events < 1000:
        raise SystemExit("--events must be at least 1000")
    reps = 3
    config = {
        "events": events, "quick": args.quick, "reps": reps,
        "batched_batches": 20 if args.quick else 50,
        "single_reps": 3 if args.quick else 5,
        "single_commits": 300 if args.quick else 1000,
        "pg_duration_s": 4.0 if args.quick else 8.0,
        "pg_reps": 1 if args.quick else 3,
        "pg_writers": args.pg_writers, "proofs": args.proofs,
        "verify_budget_s": 30.0 if args.quick else 150.0,
        "proof_budget_s": 20.0 if args.quick else 60.0,
    }
    load_before = os.getloadavg()
    run = Run(config=config)
    run.env = environment(after_python={"sqlite": sqlite3.sqlite_version,
                                        "sqlalchemy": sqlalchemy.__version__})
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    scratch = OUT_DIR / f"scratch-{uuid.uuid4().hex[:8]}"
    scratch.mkdir()
    began = time.monotonic()
    try:
        leaf_size = typical_leaf_size()
        run.env["typical_leaf_bytes"] = leaf_size
        bench_sqlite_batched(run, scratch, reps, int(config["batched_batches"]), leaf_size)
        single_log, single_signer = bench_sqlite_single(
            run, scratch, int(config["single_reps"]), int(config["single_commits"]), leaf_size)
        if not args.skip_postgres:
            pg_reps = int(config["pg_reps"])
            bench_postgres(run, args.pg_admin_url, [
                PgCase(1, 1, 1, None),
                PgCase(args.pg_writers, 1, pg_reps, 2_000),
                PgCase(args.pg_writers, 10, pg_reps, 2_000),
            ], float(config["pg_duration_s"]), args.top if args.profile else None)
        path, signer = cached_log(events, args.rebuild, run)
        bench_verify(run, path, signer, events, reps, float(config["verify_budget_s"]))
        bench_proofs(run, path, signer, events, args.proofs,
                     float(config["proof_budget_s"]))
        bench_verify_many_checkpoints(run, single_log, single_signer)
        if args.profile:
            component_timings(run, scratch)
            run_profiles(run, scratch, events, args.rebuild, args.top)
    finally:
        gc.collect()  # close connections an interrupted step left open, or they recreate files
        shutil.rmtree(scratch, ignore_errors=True)
    add_load_and_duration(run.env, load_before, began)
    publish(run, print_table, args.json, OUT_DIR / "custody-latest.json",
            lambda document: orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
