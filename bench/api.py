"""Benchmark the case service's HTTP API through a real uvicorn server, on SQLite and PostgreSQL.

    .venv/bin/python bench/api.py            # default: 100,000 evidence items
    .venv/bin/python bench/api.py --quick    # 10,000 items, fewer samples
    .venv/bin/python bench/api.py --json > result.json   # table to stderr, JSON to stdout

What is measured, on each database (SQLite in a copy of a cached home under
bench/out/api/, PostgreSQL in a throwaway database created from ``--pg-admin-url``
and dropped after the run):

1. ``GET /api/v1/evidence`` latency (p50/p99) over HTTP/1.1 keep-alive against
   ``create_app(home)`` served by uvicorn in a subprocess on 127.0.0.1, as a
   case officer (and once as an officer, who sees only their own footage), for
   typical filters: first page, by officer, by device, by time range, by case,
   combined, a deep page, and by recording. Every sample uses different filter
   values (the same values on both databases). Each is set against, in the same
   run: the same SQL statements ``search_evidence`` issues (captured from the
   engine) replayed on the bare driver, ``search_evidence()`` called in-process,
   and two HTTP floors served by the same server: ``/bench/ping`` (no auth, no
   database) and ``GET /api/v1/me`` (auth only). The list queries are EXPLAINed
   (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN (ANALYZE, BUFFERS)).
2. ``GET /api/v1/evidence/{id}/playback`` throughput for a ~256 MiB playback copy
   made by the real ingest (an H.264/AAC MP4 from ffmpeg's lavfi sources,
   ingested with ``ingest.pipeline.Ingestor``, whose remux makes playback.mp4):
   the whole file in one request and in 8 MiB Range requests, with the file in
   the page cache and dropped from it (posix_fadvise DONTNEED, checked with
   fincore). Baselines: ``cat file > /dev/null`` (cached and uncached), ``dd
   iflag=direct bs=8M`` (the disk), and the same file served by the same uvicorn
   through Starlette's FileResponse and through a bare StreamingResponse (the
   HTTP stack without our Range logic, session commit and database). Also the
   latency of one small Range request inside a viewing session, and of one that
   opens a new session (a custody event is appended).
3. In-process pieces of those requests: ``authenticate``, building a 50-item list
   response (``summary_out`` + ``EvidencePage`` + JSON, and the same from a
   shallow field copy instead of ``dataclasses.asdict``), ``playback_target`` and
   ``open_session`` joining a session.

``--what-if-index`` then creates the index suggested for the listing's ORDER BY
(``ix_evidence_listing``) in the scratch databases and measures the listing again.

The population: N catalogue rows bulk-inserted with SQLAlchemy Core executemany
(400 officers, each with a recorder plus 60 pool recorders; recordings of 1-6
back-to-back segments over one year; videos, photos, audio; 15 cases per 1,000
items, each holding 1-10 items recorded around one time: about 8% of the items),
plus two files ingested for real (the big one and its 10-second source). The
synthetic rows have no custody events and no derivative rows: the listing reads
neither. SQLite gets no ANALYZE (the service never runs it); PostgreSQL is
ANALYZEd after loading, as autovacuum soon would.
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

from cases.tables import DEFAULT_UNIT
from cases.users import operator

_BENCH_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _BENCH_DIR.parent
# Run as a script, Python puts bench/ first on sys.path, where this very file would
# shadow the ``api`` package; the repository root must come first.
if sys.path and Path(sys.path[0] or ".").resolve() == _BENCH_DIR:
    sys.path[0] = str(_REPO_ROOT)

import argparse
import contextlib
import gc
import hashlib
import http.client
import json
import os
import platform
import random
import select as io_select
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime, timedelta
from importlib import metadata as importlib_metadata
from typing import Any, TextIO, TypeVar
from urllib.parse import urlencode

import orjson
import psycopg
import sqlalchemy
from sqlalchemy import Engine, create_engine, event, func, insert, make_url, select, text

from api.home import Home, init_home, open_home
from api.http.convert import summary_out
from api.http.models import EvidencePage, EvidenceSummaryOut
from api.settings import Settings
from bench.common import (
    add_json_option,
    add_load_and_duration,
    add_pg_admin_url_option,
    environment,
    exit_on_sigterm,
    median_paired_ratio,
    new_parser,
    page_cache_fraction,
    percentile,
    print_environment,
    print_listing,
    publish,
    say,
)
from cases import tables
from cases.evidence import EvidenceFilter, EvidenceSummary, search_evidence
from cases.recordings import all_recordings
from cases.users import Role, User, add_user, authenticate
from cases.viewing import VIEWED, open_session, playback_target, target_drafts
from storage import catalog
from storage.db import make_engine

ORIGIN = "bench.example/api"
DATASET_VERSION = "v2"  # bump when the population changes, to invalidate cached homes
OUT_DIR = _BENCH_DIR / "out"
API_DIR = OUT_DIR / "api"
MIB = 1024 * 1024
PLAYBACK_TARGET_BYTES = 256 * MIB
RANGE_BYTES = 8 * MIB
SMALL_RANGE = "bytes=0-65535"  # what a player asks for first
YEAR_START = datetime(2024, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=366)
OFFICER_COUNT = 400
POOL_DEVICES = 60
CASES_PER_1000_ITEMS = 15
INSERT_BATCH = 5000
BIG_NAME = "ZFY9001_900001_20240601120000_0001.MP4"
SMALL_NAME = "ZFY9001_900001_20240601110000_0001.MP4"
T = TypeVar("T")
R = TypeVar("R")


# -- results ----------------------------------------------------------------


@dataclass
class Latency:
    """Seconds per call."""

    samples: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.samples, 50)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 99)

    def to_json(self) -> dict[str, Any]:
        return {"n": len(self.samples), "p50_ms": self.p50 * 1e3, "p99_ms": self.p99 * 1e3,
                "mean_ms": statistics.fmean(self.samples) * 1e3,
                "max_ms": max(self.samples) * 1e3}


@dataclass
class ListResult:
    key: str
    label: str
    http: Latency
    in_process: Latency
    raw_sql: Latency
    matched_median: float  # the ``total`` of the page
    http_over_raw: float  # median of paired ratios
    body_bytes_median: float

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "http": self.http.to_json(),
                "search_evidence_in_process": self.in_process.to_json(),
                "raw_sql": self.raw_sql.to_json(), "matched_median": self.matched_median,
                "http_over_raw_sql_paired_median": self.http_over_raw,
                "body_bytes_median": self.body_bytes_median}


@dataclass
class Throughput:
    key: str
    label: str
    seconds: list[float]
    nbytes: int
    server_cpu_s: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def rates(self) -> list[float]:
        return [self.nbytes / s / 1e6 for s in self.seconds]

    @property
    def mb_s(self) -> float:
        return statistics.median(self.rates)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "median_mb_s": self.mb_s, "rates_mb_s": self.rates,
                "bytes": self.nbytes, "server_cpu_s": self.server_cpu_s, "note": self.note}


@dataclass
class DatabaseRun:
    name: str
    items: int
    floors: dict[str, Latency] = field(default_factory=dict)
    lists: list[ListResult] = field(default_factory=list)
    extras: dict[str, Latency] = field(default_factory=dict)
    streams: list[Throughput] = field(default_factory=list)
    requests: dict[str, Latency] = field(default_factory=dict)
    pieces: dict[str, Latency] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    explain: dict[str, list[str]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items, "facts": self.facts,
            "floors": {k: v.to_json() for k, v in self.floors.items()},
            "list": {r.key: r.to_json() for r in self.lists},
            "extras": {k: v.to_json() for k, v in self.extras.items()},
            "streaming": {t.key: t.to_json() for t in self.streams},
            "request_latency": {k: v.to_json() for k, v in self.requests.items()},
            "in_process_pieces": {k: v.to_json() for k, v in self.pieces.items()},
            "ratios": self.ratios, "explain": self.explain,
        }


@dataclass
class Run:
    env: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    databases: list[DatabaseRun] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"env": self.env, "config": self.config,
                "databases": {d.name: d.to_json() for d in self.databases},
                "warnings": self.warnings}


# -- media --------------------------------------------------------------------


def run_ffmpeg(args: Sequence[str]) -> None:
    from media.ffmpeg_tools import ffmpeg_executable

    done = subprocess.run([ffmpeg_executable(), "-nostdin", "-hide_banner", "-loglevel", "error",
                           "-y", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"ffmpeg failed: {done.stderr[-2000:]}")


def media_volume(target_bytes: int) -> Path:
    """A recorder-like folder with a 10 s clip and a ~target_bytes recording made from it.

    The clip is encoded once (720p30 H.264 at 8 Mbit/s with AAC, sensor-like noise);
    the big file is that clip looped by stream copy, so it costs no encoding.
    """
    volume = API_DIR / "media" / f"volume-{target_bytes // MIB}MiB"
    folder = volume / "DCIM" / "100MEDIA"
    big = folder / BIG_NAME
    if big.is_file():
        return volume
    folder.mkdir(parents=True, exist_ok=True)
    clip = folder / SMALL_NAME
    if not clip.is_file():
        say("encoding a 10 s 720p H.264/AAC clip with ffmpeg")
        partial = clip.with_name("partial-" + clip.name.replace(".MP4", ".mp4"))
        run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=10",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=10",
                    "-vf", "noise=alls=6:allf=t", "-shortest", "-c:v", "libx264",
                    "-preset", "ultrafast", "-b:v", "8M", "-maxrate", "8M", "-bufsize", "16M",
                    "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
                    "-f", "mp4", str(partial)])
        partial.replace(clip)
    loops = max(1, -(-target_bytes // clip.stat().st_size))
    say(f"looping it {loops} times by stream copy into a ~{target_bytes // MIB} MiB recording")
    partial = big.with_name("partial-" + big.name.replace(".MP4", ".mp4"))
    run_ffmpeg(["-stream_loop", str(loops - 1), "-i", str(clip), "-c", "copy", "-f", "mp4",
                str(partial)])
    partial.replace(big)
    return volume


# -- population ---------------------------------------------------------------


@dataclass(frozen=True)
class Fleet:
    officers: list[str]
    devices: list[str]  # devices[i] belongs to officers[i]; the rest are pool recorders


def fleet() -> Fleet:
    officers = [f"{100_000 + 37 * n}" for n in range(OFFICER_COUNT)]
    devices = [f"ZFY{n:05d}" for n in range(OFFICER_COUNT + POOL_DEVICES)]
    return Fleet(officers, devices)


def _media_json(start: datetime, mtime: datetime, kind: str) -> str:
    tags: dict[str, str] = {"creation_time": start.isoformat()}
    if kind == "video":
        tags.update(major_brand="isom", minor_version="512", compatible_brands="isomiso2avc1mp41",
                    encoder="ZFY body-worn recorder 3.2.1")
    return json.dumps({"camera_make": "ZFY", "camera_model": "BWC-4K", "source_mtime":
                       mtime.isoformat(), "tags": tags}, sort_keys=True)


def synthetic_rows(count: int, seed: int = 20240601) -> list[dict[str, Any]]:
    """``count`` catalogue rows shaped like a year of a 400-officer force; deterministic."""
    rng = random.Random(seed)
    crew = fleet()
    weights = [rng.uniform(0.2, 2.0) for _ in crew.officers]  # some officers record far more
    rows: list[dict[str, Any]] = []
    n = 0
    while len(rows) < count:
        officer_index = rng.choices(range(OFFICER_COUNT), weights)[0]
        officer = crew.officers[officer_index]
        device = crew.devices[officer_index if rng.random() < 0.8
                              else OFFICER_COUNT + rng.randrange(POOL_DEVICES)]
        start = YEAR_START + timedelta(seconds=rng.randrange(int(YEAR.total_seconds())))
        draw = rng.random()
        kind = "video" if draw < 0.85 else "image" if draw < 0.95 else "audio" if draw < 0.99 \
            else "unknown"
        segments = rng.choice((1, 1, 1, 2, 2, 3, 4, 6)) if kind == "video" else 1
        for sequence in range(1, segments + 1):
            if len(rows) == count:
                break
            n += 1
            duration_ms = {"video": rng.randrange(60_000, 900_001), "audio":
                           rng.randrange(30_000, 1_800_000), "image": None,
                           "unknown": None}[kind]
            no_time = rng.random() < 0.005  # counter-only file names, no clock
            unknown = rng.random() < 0.01  # a recorder nobody registered
            ext = {"video": "MP4", "image": "JPG", "audio": "WAV", "unknown": "BIN"}[kind]
            name = f"{device}_{officer}_{start:%Y%m%d%H%M%S}_{sequence:04d}.{ext}"
            if no_time:
                name = f"REC{n % 10_000:04d}.{ext}"
            digest = hashlib.sha256(b"bench-evidence-%d" % n).hexdigest()
            size = (duration_ms or 0) * 1000 + rng.randrange(1, 4_000_000) if duration_ms \
                else rng.randrange(1_500_000, 6_000_000)
            mtime = start + timedelta(milliseconds=duration_ms or 0)
            ingested = mtime + timedelta(minutes=rng.randrange(30, 72 * 60))
            rows.append({
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "sha256": digest, "size": size,
                "object_key": f"originals/sha256/{digest[:2]}/{digest[2:4]}/{digest}",
                "object_version": None, "original_name": name,
                "source_path": f"DCIM/100MEDIA/{name}",
                "device_serial": device, "officer_no": None if unknown else officer,
                "kind": kind,
                "container": {"video": "mov,mp4,m4a,3gp,3g2,mj2", "image": "image2",
                              "audio": "wav", "unknown": None}[kind],
                "video_codec": {"video": "h264", "image": "mjpeg"}.get(kind),
                "audio_codec": {"video": "aac", "audio": "pcm_s16le"}.get(kind),
                "duration_ms": duration_ms,
                "width": 1920 if kind in ("video", "image") else None,
                "height": 1080 if kind in ("video", "image") else None,
                "start_time": None if no_time else start,
                "time_source": "file_mtime" if no_time else "filename",
                "sequence": sequence, "media_json": _media_json(start, mtime, kind),
                "flags": json.dumps(["unknown_device"] if unknown else []),
                "retention_category": "standard", "retain_until": ingested + timedelta(days=183),
                "legal_hold": rng.random() < 0.001,
                "derivatives_state": "done" if kind in ("video", "audio") else "none",
                "derivatives_error": None, "ingested_at": ingested, "deleted_at": None,
            })
            start += timedelta(milliseconds=duration_ms or 0)
    return rows


def case_rows(rows: list[dict[str, Any]], builder: str,
              seed: int = 7) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Cases, each holding footage from around one incident (items near one time)."""
    rng = random.Random(seed)
    timed = sorted((r for r in rows if r["start_time"] is not None), key=lambda r: r["start_time"])
    cases: list[dict[str, Any]] = []
    attached: list[dict[str, Any]] = []
    taken: set[str] = set()
    for n in range(max(50, len(rows) * CASES_PER_1000_ITEMS // 1000)):
        case_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        anchor = rng.randrange(len(timed))
        created = timed[anchor]["ingested_at"] + timedelta(days=rng.randrange(1, 30))
        cases.append({"id": case_id, "number": f"2024-{n + 1:06d}", "title": f"Incident {n + 1}",
                      "created_at": created, "created_by": builder})
        for row in timed[anchor:anchor + rng.randrange(1, 11)]:
            if row["id"] in taken:
                continue
            taken.add(row["id"])
            row["retention_category"] = "case"
            row["retain_until"] = created + timedelta(days=36525)
            attached.append({"case_id": case_id, "evidence_id": row["id"],
                             "attached_at": created, "attached_by": builder})
    return cases, attached


def populate(engine: Engine, count: int, builder: str) -> dict[str, Any]:
    rows = synthetic_rows(count)
    cases, attached = case_rows(rows, builder)
    started = time.perf_counter()
    with engine.begin() as conn:
        for first in range(0, len(rows), INSERT_BATCH):
            conn.execute(insert(catalog.evidence), rows[first:first + INSERT_BATCH])
        conn.execute(insert(tables.cases), cases)
        conn.execute(insert(tables.case_officers), [
            {"case_id": c["id"], "user_name": builder, "assigned_at": c["created_at"]}
            for c in cases])
        for first in range(0, len(attached), INSERT_BATCH):
            conn.execute(insert(tables.case_evidence), attached[first:first + INSERT_BATCH])
    seconds = time.perf_counter() - started
    return {"rows": len(rows), "cases": len(cases), "attached": len(attached),
            "insert_s": round(seconds, 2), "rows_per_s": round(len(rows) / seconds)}


def ingest_volume(home: Home, volume: Path) -> None:
    from ingest.pipeline import IngestOptions, Ingestor

    ingestor = Ingestor(home.custody_log(), home.object_store(),
                        IngestOptions(actor="station:bench", station_tz=UTC))
    try:
        results = list(ingestor.ingest(volume))
    finally:
        ingestor.close()
    bad = [r for r in results if r.status != "ingested" or r.reason]
    if bad or len(results) != 2:
        raise SystemExit(f"the real files were not ingested cleanly: {bad or results}")


def build_home(root: Path, database_url: str | None, count: int, volume: Path) -> dict[str, Any]:
    """A home with the real files ingested and ``count`` synthetic rows; returns facts."""
    started = time.perf_counter()
    home, _ = init_home(Settings(home=root, database_url=database_url, log_origin=ORIGIN,
                                 s3_endpoint=None), ORIGIN)
    say(f"ingesting {BIG_NAME} and its source clip (copy, read-back, remux)")
    t0 = time.perf_counter()
    ingest_volume(home, volume)
    ingest_s = time.perf_counter() - t0
    add_user(home.custody_log(), "bench-builder", Role.CASE_OFFICER, None, by=operator("bench"),
             unit_code=DEFAULT_UNIT)
    engine = home.engine()
    say(f"bulk-inserting {count:,} catalogue rows with executemany")
    facts = populate(engine, count, "bench-builder")
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    facts.update(ingest_real_files_s=round(ingest_s, 2),
                 build_s=round(time.perf_counter() - started, 2))
    return facts


def cached_sqlite_home(count: int, volume: Path, rebuild: bool) -> tuple[Path, dict[str, Any]]:
    """A populated SQLite home under bench/out/api/, built once per N."""
    home = API_DIR / f"home-sqlite-{DATASET_VERSION}-{count}"
    facts_file = home / "bench-facts.json"
    if rebuild:
        shutil.rmtree(home, ignore_errors=True)
    if facts_file.is_file():
        facts: dict[str, Any] = json.loads(facts_file.read_text())
        facts["cached"] = True
        return home, facts
    building = home.with_name(home.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    say(f"building the SQLite home for {count:,} items (cached for later runs)")
    facts = build_home(building, None, count, volume)
    (building / "bench-facts.json").write_text(json.dumps(facts))
    building.replace(home)
    facts["cached"] = False
    return home, facts


def scratch_copy(cached: Path, target: Path) -> Path:
    """The cached home's database and keys copied, its objects linked: runs start alike."""
    target.mkdir(parents=True)
    for name in ("evidence.json", "evidence.db"):
        shutil.copy2(cached / name, target / name)
    shutil.copytree(cached / "keys", target / "keys")
    (target / "objects").symlink_to(cached / "objects")
    return target


@contextlib.contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    name = f"bench_api_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- the server -----------------------------------------------------------------


def serve(home_root: Path, database_url: str | None, bench_file: Path) -> None:
    """The server subprocess: create_app(home) plus floor routes, under uvicorn."""
    import uvicorn
    from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

    from api.http.app import create_app

    home = open_home(Settings(home=home_root, database_url=database_url, log_origin=None,
                              s3_endpoint=None))
    app = create_app(home)

    # Floors for comparison (bench process only): no auth, no database, no Range logic of ours.
    @app.get("/bench/ping", include_in_schema=False)
    def ping() -> JSONResponse:
        return JSONResponse({"ok": True})

    @app.get("/bench/file", include_in_schema=False)
    def whole_file() -> FileResponse:
        return FileResponse(bench_file, media_type="video/mp4")

    @app.get("/bench/stream", include_in_schema=False)
    def plain_stream() -> StreamingResponse:
        def chunks() -> Iterator[bytes]:
            with bench_file.open("rb") as handle:
                while chunk := handle.read(MIB):
                    yield chunk
        return StreamingResponse(chunks(), media_type="video/mp4",
                                 headers={"Content-Length": str(bench_file.stat().st_size)})

    # proto must say TCP: asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP,
    # and without it every small keep-alive response waits ~40 ms for a delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False,
                            proxy_headers=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


class Server:
    """``bench/api.py --serve`` in a subprocess; stopped with SIGTERM by its pid."""

    def __init__(self, home_root: Path, database_url: str | None, bench_file: Path,
                 log_path: Path) -> None:
        self.log = log_path.open("wb")
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(home_root),
                   "--bench-file", str(bench_file)]
        if database_url:
            command += ["--database-url", database_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENCE_")}
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log, env=env)
        self.port = self._read_port(log_path)
        self._wait_ready(log_path)

    def _read_port(self, log_path: Path) -> int:
        assert self.process.stdout is not None
        ready, _, _ = io_select.select([self.process.stdout], [], [], 60)
        line = self.process.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            self.stop()
            raise SystemExit(f"the server did not start:\n{log_path.read_text()[-3000:]}")
        return int(line.split()[1])

    def _wait_ready(self, log_path: Path) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise SystemExit(f"the server exited:\n{log_path.read_text()[-3000:]}")
            try:
                client = Client(self.port, None)
                status, _ = client.get("/bench/ping")
                client.close()
                if status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SystemExit("the server did not answer within 60 s")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log.close()


class Client:
    """One keep-alive HTTP/1.1 connection (http.client: the thinnest client in the stdlib)."""

    def __init__(self, port: int, token: str | None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _response(self, path: str, headers: dict[str, str] | None) -> http.client.HTTPResponse:
        """Send a GET; a keep-alive connection the server closed while idle is reopened once."""
        for attempt in (1, 2):
            try:
                self.conn.request("GET", path, headers={**self.headers, **(headers or {})})
                return self.conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        response = self._response(path, headers)
        return response.status, response.read()

    def stream(self, path: str, buffer: memoryview, headers: dict[str, str] | None = None,
               digest: Any = None) -> tuple[int, int]:
        """Read the body into ``buffer`` chunk by chunk; returns (status, bytes)."""
        response = self._response(path, headers)
        left = int(response.getheader("Content-Length") or "0")
        total = 0
        while left:
            got = response.readinto(buffer[:min(left, len(buffer))])
            if not got:
                raise SystemExit(f"{path}: the body ended {left} bytes early")
            if digest is not None:
                digest.update(buffer[:got])
            left -= got
            total += got
        return response.status, total

    def close(self) -> None:
        self.conn.close()


# -- list/search latency ---------------------------------------------------------


@dataclass(frozen=True)
class ListCase:
    key: str
    label: str
    params: list[dict[str, str]]
    as_officer: bool = False
    min_samples: int = 20


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def list_cases(engine: Engine, samples: int) -> list[ListCase]:
    """Typical searches with values drawn from the data (the same on every database)."""
    rng = random.Random(99)
    with engine.connect() as conn:
        officers = sorted(v for (v,) in conn.execute(
            select(catalog.evidence.c.officer_no).distinct()) if v)
        devices = sorted(v for (v,) in conn.execute(
            select(catalog.evidence.c.device_serial).distinct()) if v)
        case_ids = sorted(v for (v,) in conn.execute(select(tables.cases.c.id)))
        recordings = sorted(r.recording_id for r in all_recordings(conn) if len(r.segments) > 1)

    def day() -> datetime:
        return YEAR_START + timedelta(days=rng.randrange(365))

    def window(days: int) -> dict[str, str]:
        first = day()
        return {"from": _iso(first), "to": _iso(first + timedelta(days=days))}

    def many(make: Callable[[], dict[str, str]]) -> list[dict[str, str]]:
        return [make() for _ in range(samples)]

    return [
        ListCase("first_page", "first page, no filter", many(dict)),
        ListCase("officer", "by officer", many(lambda: {"officer": rng.choice(officers)})),
        ListCase("device", "by device", many(lambda: {"device": rng.choice(devices)})),
        ListCase("time_1d", "by time range (1 day)", many(lambda: window(1))),
        ListCase("time_30d", "by time range (30 days)", many(lambda: window(30))),
        ListCase("case", "by case", many(lambda: {"case": rng.choice(case_ids)})),
        ListCase("combined", "officer + 30 days + kind=video",
                 many(lambda: {"officer": rng.choice(officers), **window(30), "kind": "video"})),
        ListCase("own_footage", "as an officer (own footage, no filter)", many(dict),
                 as_officer=True),
        ListCase("deep_page", "no filter, offset 5000 (page 101)",
                 many(lambda: {"offset": "5000"})),
        ListCase("recording", "by recording", many(lambda: {"recording": rng.choice(recordings)}),
                 min_samples=3),
    ]


def evidence_filter(params: dict[str, str]) -> EvidenceFilter:
    def when(name: str) -> datetime | None:
        return datetime.fromisoformat(params[name]) if name in params else None
    return EvidenceFilter(
        officer=params.get("officer"), device_serial=params.get("device"),
        time_from=when("from"), time_to=when("to"), case_id=params.get("case"),
        recording_id=params.get("recording"), kind=params.get("kind"),
        offset=int(params.get("offset", "0")))


Captured = list[tuple[str, Any]]


class StatementCapture:
    """The SQL an engine sends, with driver-level parameters, while ``active``."""

    def __init__(self, engine: Engine) -> None:
        self.active = False
        self.statements: Captured = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
              _executemany: bool) -> None:
        # our SQLite engine emits its own BEGIN; only the queries are replayed
        if self.active and statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, parameters))

    def take(self) -> Captured:
        taken, self.statements = self.statements, []
        return taken


class RawDriver:
    """The bare DB-API connection (sqlite3 with make_engine's pragmas, or psycopg)."""

    def __init__(self, database_url: str) -> None:
        self.engine: Engine | None = None
        if database_url.startswith("sqlite"):
            self.engine = make_engine(database_url)
            pooled = self.engine.raw_connection()
            driver = pooled.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            driver.isolation_level = None
            self.sqlite: sqlite3.Connection | None = driver
            self._pooled: Any = pooled
            self.pg: psycopg.Connection[Any] | None = None
        else:
            url = make_url(database_url).set(drivername="postgresql")
            self.sqlite = None
            self.pg = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)

    def run(self, statements: Captured) -> Any:
        """Execute every statement and fetch every row; returns what the count query counted."""
        counted: Any = None
        for statement, parameters in statements:
            if self.pg is not None:
                with self.pg.cursor() as cur:
                    cur.execute(statement, parameters)
                    rows = cur.fetchall()
            else:
                assert self.sqlite is not None
                rows = self.sqlite.execute(statement, parameters).fetchall()
            if statement.lstrip().upper().startswith("SELECT COUNT(") and rows:
                counted = rows[0][0]
        return counted

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()
        else:
            self._pooled.close()
            assert self.engine is not None
            self.engine.dispose()


def timed(work: Callable[[T], R], inputs: Sequence[T], budget_s: float,
          min_n: int) -> tuple[list[float], list[R]]:
    """Time ``work`` on the inputs in order until all are done or the budget is spent.

    At least ``min_n`` calls are made (when there are that many inputs).
    """
    seconds: list[float] = []
    results: list[R] = []
    began = time.perf_counter()
    for item in inputs:
        t0 = time.perf_counter()
        results.append(work(item))
        seconds.append(time.perf_counter() - t0)
        if len(seconds) >= min_n and time.perf_counter() - began > budget_s:
            break
    return seconds, results


def bench_lists(db: DatabaseRun, engine: Engine, database_url: str, port: int,
                users: dict[str, tuple[User, str]], cases: list[ListCase], budget_s: float,
                run: Run) -> None:
    capture = StatementCapture(engine)
    raw = RawDriver(database_url)
    clients = {name: Client(port, token) for name, (_, token) in users.items()}
    try:
        floor_calls = 300 if len(cases[0].params) >= 200 else 150
        for key, path, client in (("ping", "/bench/ping", clients["case_officer"]),
                                  ("me", "/api/v1/me", clients["case_officer"])):
            for _ in range(20):
                client.get(path)
            seconds, _ = timed(client.get, [path] * floor_calls, 60, 1)
            db.floors[key] = Latency(seconds)
        for case in cases:
            user, _ = users["officer" if case.as_officer else "case_officer"]
            client = clients["officer" if case.as_officer else "case_officer"]
            say(f"  {db.name}: {case.label}")
            search_evidence(engine, user, evidence_filter(case.params[0]))  # warm up
            capture.active = True
            statements: list[Captured] = []

            def in_process(params: dict[str, str], u: User = user,
                           into: list[Captured] = statements) -> None:
                search_evidence(engine, u, evidence_filter(params))
                into.append(capture.take())

            inproc_s, _ = timed(in_process, case.params, budget_s, case.min_samples)
            capture.active = False
            n = len(inproc_s)
            raw.run(statements[0])
            raw_s, totals = timed(raw.run, statements, float("inf"), n)
            paths = [f"/api/v1/evidence?{urlencode(p)}" if p else "/api/v1/evidence"
                     for p in case.params[:n]]
            client.get(paths[0])
            http_s, responses = timed(client.get, paths, float("inf"), n)
            for (status, body), total in zip(responses, totals, strict=True):
                page = orjson.loads(body)
                if status != 200 or page.get("total") != total:
                    run.warnings.append(f"{db.name} {case.key}: HTTP {status} total "
                                        f"{page.get('total')} but the SQL counted {total}")
                    break
            db.lists.append(ListResult(
                case.key, case.label, Latency(http_s), Latency(inproc_s), Latency(raw_s),
                statistics.median(t for t in totals if t is not None) if any(
                    t is not None for t in totals) else 0,
                median_paired_ratio(http_s, raw_s),
                statistics.median(len(body) for _, body in responses)))
            db.explain[case.key] = explain(engine, statements[0])
        # the recordings listing reads every video row per request
        t_list, listed = timed(clients["case_officer"].get, ["/api/v1/recordings"] * 5, budget_s, 2)
        db.extras["recordings_list"] = Latency(t_list)
        db.facts["recordings_list_body_mb"] = round(len(listed[0][1]) / 1e6, 1)
    finally:
        for client in clients.values():
            client.close()
        raw.close()


def explain(engine: Engine, statements: Captured) -> list[str]:
    lines: list[str] = []
    driver_conn = engine.raw_connection()
    try:
        dbapi = driver_conn.driver_connection
        for statement, parameters in statements:
            lines.append("-- " + " ".join(statement.split())[:300])
            if engine.dialect.name == "sqlite":
                assert isinstance(dbapi, sqlite3.Connection)
                for row in dbapi.execute("EXPLAIN QUERY PLAN " + statement, parameters):
                    lines.append(f"   {row[3]}")
            else:
                assert isinstance(dbapi, psycopg.Connection)
                with dbapi.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    lines.extend(f"   {row[0]}" for row in cur.fetchall())
                dbapi.rollback()
    finally:
        driver_conn.close()
    return lines


# -- playback streaming ------------------------------------------------------------


def drop_from_cache(path: Path) -> float | None:
    """Evict the file's clean pages; returns the fraction still resident (fincore)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return page_cache_fraction([path])


def warm_up(path: Path) -> None:
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)


def shell_seconds(command: Sequence[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(list(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return time.perf_counter() - t0


@dataclass(frozen=True)
class BigCopy:
    evidence_id: str
    path: Path
    size: int
    sha256: str


def big_playback_copy(home: Home) -> BigCopy:
    ev, der = catalog.evidence, catalog.derivatives
    with home.engine().connect() as conn:
        row = conn.execute(select(ev.c.id, der.c.object_key, der.c.size, der.c.sha256)
                           .join(der, der.c.evidence_id == ev.c.id)
                           .where((ev.c.original_name == BIG_NAME)
                                  & (der.c.name == "playback.mp4"))).one()
    path = home.objects / "objects" / row.object_key
    if path.stat().st_size != row.size:
        raise SystemExit(f"{path} is not the {row.size}-byte playback copy the catalogue names")
    return BigCopy(row.id, path, row.size, row.sha256)


def bench_streaming(db: DatabaseRun, server: Server, token: str, big: BigCopy, reps: int,
                    cold_reps: int, request_samples: int, run: Run) -> None:
    client = Client(server.port, token)
    floor = Client(server.port, None)
    buffer = memoryview(bytearray(RANGE_BYTES))
    app_path = f"/api/v1/evidence/{big.evidence_id}/playback"
    size = big.size

    def whole(c: Client, path: str) -> None:
        status, got = c.stream(path, buffer)
        if status != 200 or got != size:
            raise SystemExit(f"{path}: HTTP {status}, {got} of {size} bytes")

    def ranges(c: Client, path: str) -> None:
        for first in range(0, size, RANGE_BYTES):
            last = min(first + RANGE_BYTES, size) - 1
            status, got = c.stream(path, buffer, {"Range": f"bytes={first}-{last}"})
            if status != 206 or got != last - first + 1:
                raise SystemExit(f"{path} bytes={first}-{last}: HTTP {status}, {got} bytes")

    try:
        # the first request opens the viewing session (a custody event); check the bytes once
        digest = hashlib.sha256()
        status, got = client.stream(app_path, buffer, digest=digest)
        if status != 200 or got != size or digest.hexdigest() != big.sha256:
            raise SystemExit(f"{app_path} did not deliver the playback copy's bytes")
        cases: list[tuple[str, str, Callable[[], None]]] = [
            ("cat", "baseline: cat file > /dev/null", lambda: warm_up(big.path)),
            ("app_whole", "app: one request (200)", lambda: whole(client, app_path)),
            ("app_ranges", f"app: {RANGE_BYTES // MIB} MiB Range requests (206)",
             lambda: ranges(client, app_path)),
            ("file_response_whole", "floor: Starlette FileResponse, one request",
             lambda: whole(floor, "/bench/file")),
            ("file_response_ranges", f"floor: FileResponse, {RANGE_BYTES // MIB} MiB ranges",
             lambda: ranges(floor, "/bench/file")),
            ("plain_stream_whole", "floor: StreamingResponse 1 MiB chunks, no DB",
             lambda: whole(floor, "/bench/stream")),
        ]
        warm_up(big.path)
        seconds: dict[str, list[float]] = {key: [] for key, _, _ in cases}
        cpu: dict[str, list[float]] = {key: [] for key, _, _ in cases}
        for _ in range(reps):
            for key, _, work in cases:
                c0 = server.cpu_seconds()
                t0 = time.perf_counter()
                work()
                seconds[key].append(time.perf_counter() - t0)
                cpu[key].append(round(server.cpu_seconds() - c0, 3))
        resident = page_cache_fraction([big.path])
        for key, label, _ in cases:
            db.streams.append(Throughput(f"warm_{key}", label + " [cached]", seconds[key], size,
                                         [] if key == "cat" else cpu[key]))
        db.facts["resident_fraction_warm"] = resident

        cold: list[tuple[str, str, Callable[[], None]]] = [
            ("cat", "baseline: cat file > /dev/null", cases[0][2]),
            ("app_whole", "app: one request (200)", cases[1][2]),
            ("app_ranges", f"app: {RANGE_BYTES // MIB} MiB Range requests (206)", cases[2][2]),
        ]
        cold_s: dict[str, list[float]] = {key: [] for key, _, _ in cold}
        left: list[float | None] = []
        for _ in range(cold_reps):
            for key, _, work in cold:
                left.append(drop_from_cache(big.path))
                t0 = time.perf_counter()
                work()
                cold_s[key].append(time.perf_counter() - t0)
        direct = [shell_seconds(["dd", f"if={big.path}", "of=/dev/null", "bs=8M", "iflag=direct",
                                 "status=none"]) for _ in range(cold_reps)]
        known = [x for x in left if x is not None]
        db.facts["resident_fraction_after_drop_max"] = max(known) if known else None
        if known and max(known) > 0.05:
            run.warnings.append(f"{db.name}: dropping the file from the page cache left "
                                f"{max(known):.0%} resident; the uncached figures are optimistic")
        for key, label, _ in cold:
            db.streams.append(Throughput(f"cold_{key}", label + " [uncached]", cold_s[key], size))
        db.streams.append(Throughput("cold_dd_direct", "baseline: dd iflag=direct bs=8M [disk]",
                                     direct, size))
        warm_up(big.path)

        by_key = {t.key: t.mb_s for t in db.streams}
        for ours in ("app_whole", "app_ranges", "file_response_whole", "plain_stream_whole"):
            db.ratios[f"warm_{ours}_vs_cat"] = by_key[f"warm_{ours}"] / by_key["warm_cat"]
        for ours in ("app_whole", "app_ranges"):
            db.ratios[f"cold_{ours}_vs_cold_cat"] = by_key[f"cold_{ours}"] / by_key["cold_cat"]
            db.ratios[f"cold_{ours}_vs_dd_direct"] = by_key[f"cold_{ours}"] / by_key["cold_dd_direct"]
        db.ratios["warm_app_whole_vs_plain_stream"] = (by_key["warm_app_whole"]
                                                       / by_key["warm_plain_stream_whole"])

        # one small request inside the open session, then requests that open a session each
        small = {"Range": SMALL_RANGE}
        for _ in range(10):
            client.get(app_path, small)
            floor.get("/bench/file", small)
        app_s, answers = timed(lambda path: client.get(path, small),
                               [app_path] * request_samples, 60, 1)
        if any(status != 206 for status, _ in answers):
            run.warnings.append(f"{db.name}: a small Range request was not answered with 206")
        file_s, _ = timed(lambda path: floor.get(path, small), ["/bench/file"] * request_samples,
                          60, 1)
        tag = uuid.uuid4().hex[:8]
        opening = [f"{app_path}?reason=bench+{tag}+{n}" for n in range(max(10, request_samples // 10))]
        open_s, _ = timed(lambda path: client.get(path, small), opening, 60, 1)
        db.requests["app_small_range_in_session"] = Latency(app_s)
        db.requests["app_small_range_opening_session"] = Latency(open_s)
        db.requests["file_response_small_range"] = Latency(file_s)
    finally:
        client.close()
        floor.close()


# -- in-process pieces of one request ------------------------------------------------


def _shallow_summary_out(item: EvidenceSummary) -> EvidenceSummaryOut:
    """What ``summary_out`` builds, from a shallow field copy instead of ``asdict``."""
    return EvidenceSummaryOut(**{f.name: getattr(item, f.name) for f in dataclass_fields(item)})


def bench_pieces(db: DatabaseRun, home: Home, user: User, token: str, big: BigCopy,
                 samples: int) -> None:
    """The building blocks of a list and of a playback request, called in-process."""
    engine = home.engine()
    log = home.custody_log(engine)
    page = search_evidence(engine, user, EvidenceFilter())

    def response(convert: Callable[[EvidenceSummary], EvidenceSummaryOut]) -> bytes:
        body = EvidencePage(items=[convert(i) for i in page.items], total=page.total,
                            offset=page.offset, limit=page.limit, next_offset=page.next_offset)
        return body.model_dump_json().encode()

    def join_session(_: int) -> object:
        target = playback_target(log, user, big.evidence_id)
        now = datetime.now(UTC)
        return open_session(log, user, "playback", f"evidence:{big.evidence_id}", None,
                            target_drafts(user, target, VIEWED, None, now), now=now)

    work: list[tuple[str, Callable[[int], object]]] = [
        ("authenticate(token)", lambda _: authenticate(engine, token)),
        ("list response: summary_out x50 + EvidencePage + JSON", lambda _: response(summary_out)),
        ("  same with a shallow field copy instead of asdict",
         lambda _: response(_shallow_summary_out)),
        ("playback_target()", lambda _: playback_target(log, user, big.evidence_id)),
        ("playback_target() + open_session() joining (a write transaction)", join_session),
    ]
    for label, call in work:
        for n in range(10):
            call(n)
        seconds, _ = timed(call, range(samples), 30, 1)
        db.pieces[label] = Latency(seconds)


# -- one database -----------------------------------------------------------------


LISTING_INDEX_NAME = "ix_evidence_listing"


def add_listing_index(engine: Engine) -> None:
    """The index suggested for the listing's ORDER BY (scratch databases only)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"CREATE INDEX {LISTING_INDEX_NAME} ON evidence "
                              "(start_time DESC NULLS LAST, ingested_at DESC, id)"))
            conn.execute(text("ANALYZE evidence"))
        else:
            # SQLite sorts NULL first, so DESC already puts NULLs last
            conn.exec_driver_sql(f"CREATE INDEX {LISTING_INDEX_NAME} ON evidence "
                                 "(start_time DESC, ingested_at DESC, id)")
        conn.commit()


def bench_database(run: Run, name: str, home_root: Path, database_url: str | None, items: int,
                   facts: dict[str, Any], config: dict[str, Any], scratch: Path) -> None:
    db = DatabaseRun(name, items, facts=dict(facts))
    run.databases.append(db)
    home = open_home(Settings(home=home_root, database_url=database_url, log_origin=None,
                              s3_endpoint=None))
    engine = home.engine()
    log = home.custody_log(engine)
    officer_no = fleet().officers[OFFICER_COUNT // 2]
    users = {
        "case_officer": add_user(log, "bench-case-officer", Role.CASE_OFFICER, None,
                                 by=operator("bench"), unit_code=DEFAULT_UNIT),
        "officer": add_user(log, "bench-officer", Role.OFFICER, officer_no, by=operator("bench"),
                            unit_code=DEFAULT_UNIT),
    }
    with engine.connect() as conn:
        db.facts["evidence_rows"] = conn.execute(
            select(func.count()).select_from(catalog.evidence)).scalar_one()
        if engine.dialect.name == "postgresql":
            db.facts["server_version"] = conn.execute(text("SHOW server_version")).scalar_one()
            db.facts["evidence_table_mb"] = round(conn.execute(text(
                "SELECT pg_total_relation_size('evidence')")).scalar_one() / 1e6, 1)
        else:
            db.facts["database_file_mb"] = round((home_root / "evidence.db").stat().st_size / 1e6, 1)
    big = big_playback_copy(home)
    db.facts["playback_copy_bytes"] = big.size
    cases = list_cases(engine, int(config["samples"]))
    server = Server(home_root, database_url, big.path, scratch / f"server-{name}.log")
    try:
        say(f"{name}: list/search latency through uvicorn on 127.0.0.1:{server.port}")
        bench_lists(db, engine, home.database_url, server.port, users, cases,
                    float(config["budget_s"]), run)
        say(f"{name}: playback streaming of a {big.size / MIB:.0f} MiB copy")
        bench_streaming(db, server, users["case_officer"][1], big, int(config["stream_reps"]),
                        int(config["cold_reps"]), int(config["request_samples"]), run)
        say(f"{name}: in-process pieces of a request")
        bench_pieces(db, home, users["case_officer"][0], users["case_officer"][1], big,
                     int(config["request_samples"]))
        if config["what_if_index"]:
            with_index = DatabaseRun(f"{name} + {LISTING_INDEX_NAME} (what-if)", items)
            run.databases.append(with_index)
            add_listing_index(engine)
            say(f"{with_index.name}: list/search latency again")
            bench_lists(with_index, engine, home.database_url, server.port, users, cases,
                        float(config["budget_s"]), run)
    finally:
        server.stop()
        engine.dispose()


# -- output -----------------------------------------------------------------------


def ms(seconds: float) -> str:
    value = seconds * 1e3
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def print_table(run: Run, out: TextIO) -> None:
    def line(text_: str = "") -> None:
        print(text_, file=out)

    print_environment(run.env, run.config, out)
    for db in run.databases:
        line()
        line(f"== {db.name}: {db.items:,} evidence items ==")
        line(f"  facts: {db.facts}")
        line()
        line("  GET /api/v1/evidence, ms (HTTP = request to last byte over keep-alive; "
             "in-process = search_evidence(); raw = its SQL on the bare driver)")
        line(f"  {'case':<40} {'n':>4} {'HTTP p50':>9} {'HTTP p99':>9} {'in-proc p50':>11} "
             f"{'raw p50':>8} {'raw p99':>8} {'HTTP/raw':>9} {'matched':>8} {'body KB':>8}")
        for floor_key, label in (("ping", "floor: /bench/ping (no auth, no DB)"),
                                 ("me", "floor: /api/v1/me (auth query only)")):
            if floor_key in db.floors:
                f = db.floors[floor_key]
                line(f"  {label:<40} {len(f.samples):>4} {ms(f.p50):>9} {ms(f.p99):>9}")
        for r in db.lists:
            line(f"  {r.label:<40} {len(r.http.samples):>4} {ms(r.http.p50):>9} "
                 f"{ms(r.http.p99):>9} {ms(r.in_process.p50):>11} {ms(r.raw_sql.p50):>8} "
                 f"{ms(r.raw_sql.p99):>8} {r.http_over_raw:>8.1f}x {r.matched_median:>8,.0f} "
                 f"{r.body_bytes_median / 1e3:>8.1f}")
        for key, lat in db.extras.items():
            line(f"  {'GET /api/v1/' + key.replace('_list', ''):<40} {len(lat.samples):>4} "
                 f"{ms(lat.p50):>9} {ms(lat.p99):>9}")
        if db.streams:
            line()
            line(f"  playback streaming of {db.facts.get('playback_copy_bytes', 0):,} bytes, MB/s "
                 "(median of reps; server CPU s per transfer)")
        for t in db.streams:
            spread = f"{len(t.rates)}: {min(t.rates):,.0f}..{max(t.rates):,.0f}"
            cpu = f"cpu {statistics.median(t.server_cpu_s):.2f}s" if t.server_cpu_s else ""
            line(f"  {t.label:<62} {t.mb_s:>9,.0f} {spread:>20} {cpu:>10}")
        if db.ratios:
            line("  ratios (ours / baseline, higher is better):")
        for key, value in db.ratios.items():
            line(f"    {key:<44} {value:6.2f}")
        if db.requests:
            line("  per-request latency over HTTP (64 KiB Range), ms:")
        for key, lat in db.requests.items():
            line(f"    {key:<44} n={len(lat.samples):<4} p50 {ms(lat.p50):>7}  "
                 f"p99 {ms(lat.p99):>7}")
        if db.pieces:
            line("  in-process pieces of a request, ms:")
        for key, lat in db.pieces.items():
            line(f"    {key:<66} n={len(lat.samples):<4} p50 {ms(lat.p50):>7}  "
                 f"p99 {ms(lat.p99):>7}")
        line()
        sqlite_plans = db.name.startswith("sqlite")
        line(f"  query plans ({'EXPLAIN QUERY PLAN' if sqlite_plans else 'EXPLAIN ANALYZE'}, "
             "first sample of each case; buffers and planning lines in the JSON only):")
        for key, plan in db.explain.items():
            line(f"  [{key}]")
            shown = [p for p in plan if not p.strip().startswith(("Buffers:", "Planning:"))]
            for text_line in shown[:40]:
                line(f"    {text_line[:200]}")
    print_listing("warnings", run.warnings, out, marker="! ")


# -- main ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = new_parser(__doc__, "10,000 items, fewer samples")
    parser.add_argument("--items", type=int, default=None,
                        help="catalogue size (default 100,000; --quick 10,000)")
    add_json_option(parser)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached SQLite home")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--what-if-index", action="store_true",
                        help=f"then create {LISTING_INDEX_NAME} on (start_time DESC, ingested_at "
                             "DESC, id) in the scratch databases and measure the listing again "
                             "(adds about a minute per database)")
    add_pg_admin_url_option(parser)
    # the server subprocess
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--bench-file", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return "not installed"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve is not None:
        serve(args.serve, args.database_url, args.bench_file)
        return 0
    signal.signal(signal.SIGTERM, exit_on_sigterm)  # so ``finally`` stops servers, drops databases
    items = args.items or (10_000 if args.quick else 100_000)
    config: dict[str, Any] = {
        "items": items, "quick": args.quick,
        "samples": 100 if args.quick else 200,  # filter values per case (fewer if over budget)
        "budget_s": 2.0 if args.quick else 3.0,  # per case, for the in-process pass
        "stream_reps": 2 if args.quick else 3, "cold_reps": 1 if args.quick else 2,
        "request_samples": 100 if args.quick else 200,
        "playback_target_bytes": PLAYBACK_TARGET_BYTES, "range_bytes": RANGE_BYTES,
        "what_if_index": args.what_if_index,
    }
    load_before = os.getloadavg()
    run = Run(config=config)
    run.env = environment(after_cpus={"cpu_model": cpu_model()}, after_python={
        "sqlite": sqlite3.sqlite_version, "sqlalchemy": sqlalchemy.__version__,
        "psycopg": psycopg.__version__, "fastapi": _version("fastapi"),
        "starlette": _version("starlette"), "uvicorn": _version("uvicorn"),
        "uvicorn_http": "httptools" if _version("httptools") != "not installed" else "h11",
    })
    API_DIR.mkdir(parents=True, exist_ok=True)
    scratch = API_DIR / f"scratch-{uuid.uuid4().hex[:8]}"
    scratch.mkdir()
    began = time.monotonic()
    try:
        volume = media_volume(PLAYBACK_TARGET_BYTES)
        if not args.skip_sqlite:
            cached, facts = cached_sqlite_home(items, volume, args.rebuild)
            home_root = scratch_copy(cached, scratch / "home-sqlite")
            bench_database(run, "sqlite", home_root, None, items, facts, config, scratch)
        if not args.skip_postgres:
            with throwaway_database(args.pg_admin_url) as url:
                say(f"building a PostgreSQL home in {make_url(url).database}")
                facts = build_home(scratch / "home-postgresql", url, items, volume)
                bench_database(run, "postgresql", scratch / "home-postgresql", url, items, facts,
                               config, scratch)
    finally:
        gc.collect()  # close connections before the database is dropped and files removed
        shutil.rmtree(scratch, ignore_errors=True)
    add_load_and_duration(run.env, load_before, began)
    publish(run, print_table, args.json, API_DIR / f"latest{'-quick' if args.quick else ''}.json",
            lambda document: orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
