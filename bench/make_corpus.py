"""Build (once) a home holding N evidence items for the search and playback load tests.

    .venv/bin/python bench/make_corpus.py                 # SQLite, 100,000 items
    .venv/bin/python bench/make_corpus.py --pg            # the same on PostgreSQL (database bench_corpus_N)
    .venv/bin/python bench/make_corpus.py --items 10000 --rebuild
    .venv/bin/python bench/make_corpus.py --pg --drop     # drop the PostgreSQL database and its home

The home is cached under ``/tmp/bench-corpus/{sqlite,pg}-N`` and reused while
``CORPUS_VERSION`` is the same; ``bench-facts.json`` in it names the database, the bench
users and their passwords, and the ids of the real playback copies.

What is in it (deterministic, seed fixed):

* one city agency (呼和浩特市公安局) with six units (分局, 交警, 特警), made with the
  project's own ``add_agency``/``add_unit`` (custody events);
* 400 officers with Chinese names (姓名 in the recorder registry), each with a recorder,
  plus 60 pool recorders, registered with ``register_device`` (custody events);
* 50 bench users who sign in with a password (``add_user`` + ``set_password``): 30 case
  officers across the units, 15 officers with their own officer numbers, 5 admins;
* one real 3-segment recording (10 s 320x180 H.264/AAC clips made by ffmpeg) ingested by
  the real ``Ingestor`` (copy, read-back, probe, remux to a playback copy, poster, strip);
* N synthetic catalogue rows: recordings of 1-6 back-to-back segments by each officer's
  recorder (sometimes a pool one), spread over six months, 85 % video, 10 % photos,
  4 % audio; some without a clock, some from unregistered recorders. Each row gets the
  custody events ingest would append (``evidence:file:ingested``, ``:verified``,
  ``:probed``, and ``:derived`` per copy) through the project's ``CustodyLog.append`` in
  batches, in the same transaction as its catalogue row, so the log and the catalogue
  agree. Their **originals are not in the object store** (a verify with objects reports
  them missing): every synthetic video and audio row points its derivative rows at the
  real recording's playback copy, poster and strip, so any synthetic item can be played.
* about 15 cases per 1,000 items made with ``create_case`` by a case officer of the
  footage's unit, each holding 1-10 items of that unit recorded around one time; the
  attachments are written directly (``case_evidence`` rows, retention set to ``case``) with
  the ``case:evidence:attached`` event the project writes (``objects`` empty: the synthetic
  originals are not stored, so there is no object retention to extend).
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
import hashlib
import json
import random
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, insert, make_url, select, text, update

from api.home import Home, init_home, open_home
from api.settings import Settings
from bench.common import DEFAULT_PG_ADMIN_URL, say
from cases import tables
from cases.case_records import create_case
from cases.custody_index import refresh
from cases.devices import register_device
from cases.organisation import Level, add_agency, add_unit
from cases.passwords import set_password
from cases.users import Role, User, add_user, operator
from custody.events import JSON, EventDraft, Subject, format_time
from domain.event_types import EventType
from storage import catalog
from storage.db import write_transaction

CORPUS_VERSION = "c1"  # bump when the population changes, to invalidate cached homes
CACHE = Path("/tmp/bench-corpus")
ORIGIN = "bench.example/corpus"
PASSWORD = "bench-pass-2026!"  # every bench user's (the pages' sign-in accepts it)
SPAN_START = datetime(2026, 6, 1, tzinfo=UTC)
SPAN = timedelta(days=183)
OFFICERS = 400
POOL_DEVICES = 60
CASES_PER_1000 = 15
BATCH = 2000  # items per transaction (catalogue rows and their custody events)
AGENCY = "hhht"
UNITS = [("hhht-xc", "新城分局"), ("hhht-hm", "回民分局"), ("hhht-yq", "玉泉分局"),
         ("hhht-sh", "赛罕分局"), ("hhht-jj", "交通警察支队"), ("hhht-tj", "特警支队")]
UNIT_WEIGHTS = [0.22, 0.18, 0.18, 0.2, 0.14, 0.08]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蔡蒋余于杜叶程苏"
            "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强海波红梅宇浩晨阳雪"
         "晶鑫斌巴特尔其木格乌兰图雅")
REAL_DEVICE = "ZFY9001"
REAL_OFFICER = "900001"
REAL_START = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Officer:
    number: str
    name: str
    unit: str
    device: str


def chinese_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def force(rng: random.Random) -> tuple[list[Officer], list[tuple[str, str]]]:
    """The officers (with their recorders) and the pool recorders (serial, unit)."""
    officers = []
    for n in range(OFFICERS):
        unit = rng.choices(UNITS, UNIT_WEIGHTS)[0][0]
        officers.append(Officer(f"{150_000 + 37 * n}", chinese_name(rng), unit, f"ZFY{n:05d}"))
    pool = [(f"ZFY{OFFICERS + n:05d}", UNITS[n % len(UNITS)][0]) for n in range(POOL_DEVICES)]
    return officers, pool


# -- paths and cache ------------------------------------------------------------------


def home_dir(items: int, pg: bool) -> Path:
    return CACHE / f"{'pg' if pg else 'sqlite'}-{CORPUS_VERSION}-{items}"


def pg_database(items: int) -> str:
    return f"bench_corpus_{CORPUS_VERSION}_{items}"


def load_facts(root: Path) -> dict[str, Any] | None:
    facts = root / "bench-facts.json"
    return json.loads(facts.read_text()) if facts.is_file() else None


def open_corpus(root: Path) -> Home:
    facts = load_facts(root)
    assert facts is not None, f"{root} is not a built corpus"
    return open_home(Settings(home=root, database_url=facts["database_url"], log_origin=None,
                              s3_endpoint=None))


# -- real media -----------------------------------------------------------------------


def real_volume(root: Path) -> Path:
    """A recorder folder with a 3-segment recording (10 s each, back to back)."""
    from media.ffmpeg_tools import ffmpeg_executable

    volume = root / "volume"
    folder = volume / "DCIM" / "100MEDIA"
    folder.mkdir(parents=True, exist_ok=True)
    for seq in range(1, 4):
        start = REAL_START + timedelta(seconds=10 * (seq - 1))
        name = f"{REAL_DEVICE}_{REAL_OFFICER}_{start:%Y%m%d%H%M%S}_{seq:04d}.MP4"
        subprocess.run([ffmpeg_executable(), "-nostdin", "-hide_banner", "-loglevel", "error",
                        "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size=320x180:rate=25:duration=10,hue=h={seq * 90}",
                        "-f", "lavfi", "-i", f"sine=frequency={330 * seq}:duration=10",
                        "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "300k",
                        "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
                        "-f", "mp4", str(folder / name)], check=True)
    return volume


def ingest_real(home: Home, volume: Path, unit: str) -> list[str]:
    from ingest.pipeline import IngestOptions, Ingestor

    ingestor = Ingestor(home.custody_log(), home.object_store(),
                        IngestOptions(actor="station:bench", station_tz=UTC, unit_code=unit))
    try:
        results = list(ingestor.ingest(volume))
    finally:
        ingestor.close()
    bad = [r for r in results if r.status != "ingested"]
    if bad or len(results) != 3:
        raise SystemExit(f"the real files were not ingested cleanly: {bad or results}")
    return [str(r.evidence_id) for r in results]


# -- synthetic catalogue rows ---------------------------------------------------------


def _media(start: datetime, mtime: datetime, kind: str) -> dict[str, JSON]:
    tags: dict[str, JSON] = {"creation_time": format_time(start)}
    if kind == "video":
        tags.update(major_brand="isom", encoder="ZFY body-worn recorder 3.2.1")
    return {"camera_make": "ZFY", "camera_model": "DSJ-V9", "source_mtime": format_time(mtime),
            "tags": tags}


def synthetic_rows(count: int, officers: Sequence[Officer], pool: Sequence[tuple[str, str]],
                   rng: random.Random) -> Iterator[dict[str, Any]]:
    weights = [rng.uniform(0.2, 2.0) for _ in officers]  # some officers record far more
    made = 0
    while made < count:
        officer = rng.choices(officers, weights)[0]
        device, unit = (officer.device, officer.unit) if rng.random() < 0.85 \
            else rng.choice(pool)
        start = SPAN_START + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))
        draw = rng.random()
        kind = "video" if draw < 0.85 else "image" if draw < 0.95 else "audio" if draw < 0.99 \
            else "unknown"
        segments = rng.choice((1, 1, 1, 2, 2, 3, 4, 6)) if kind == "video" else 1
        for sequence in range(1, segments + 1):
            if made == count:
                return
            made += 1
            duration_ms = {"video": rng.randrange(60_000, 900_001),
                           "audio": rng.randrange(30_000, 1_800_000)}.get(kind)
            no_clock = rng.random() < 0.005
            unregistered = rng.random() < 0.01
            ext = {"video": "MP4", "image": "JPG", "audio": "WAV", "unknown": "BIN"}[kind]
            serial = f"ZFY{90000 + rng.randrange(50)}" if unregistered else device
            name = f"{serial}_{officer.number}_{start:%Y%m%d%H%M%S}_{sequence:04d}.{ext}"
            if no_clock:
                name = f"REC{made % 10_000:04d}.{ext}"
            digest = hashlib.sha256(b"bench-corpus-%d" % made).hexdigest()
            size = duration_ms * 1000 + rng.randrange(1, 4_000_000) if duration_ms \
                else rng.randrange(1_500_000, 6_000_000)
            mtime = start + timedelta(milliseconds=duration_ms or 0)
            ingested = mtime + timedelta(minutes=rng.randrange(30, 72 * 60))
            flags = ["unknown_device"] if unregistered else []
            yield {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "sha256": digest, "size": size,
                "object_key": f"originals/sha256/{digest[:2]}/{digest[2:4]}/{digest}",
                "object_version": None, "original_name": name,
                "source_path": f"DCIM/100MEDIA/{name}",
                "device_serial": serial, "officer_no": officer.number,
                "unit_code": None if unregistered else unit, "kind": kind,
                "container": {"video": "mov,mp4,m4a,3gp,3g2,mj2", "image": "image2",
                              "audio": "wav"}.get(kind),
                "video_codec": {"video": "h264", "image": "mjpeg"}.get(kind),
                "audio_codec": {"video": "aac", "audio": "pcm_s16le"}.get(kind),
                "duration_ms": duration_ms,
                "width": 1920 if kind in ("video", "image") else None,
                "height": 1080 if kind in ("video", "image") else None,
                "start_time": None if no_clock else start,
                "time_source": "file_mtime" if no_clock else "filename",
                "sequence": sequence, "media_json": json.dumps(
                    _media(start, mtime, kind), ensure_ascii=False, sort_keys=True),
                "flags": json.dumps(flags), "retention_category": "standard",
                "retain_until": ingested + timedelta(days=183),
                "legal_hold": False,
                "derivatives_state": "done" if kind in ("video", "audio") else "none",
                "derivatives_error": None, "ingested_at": ingested, "deleted_at": None,
                "clock_offset_seconds": None, "station_tz": "Asia/Shanghai",
                "source_mtime": mtime,
            }
            start += timedelta(milliseconds=duration_ms or 0)


def item_events(row: dict[str, Any], copies: Sequence[Any]) -> list[EventDraft]:
    """The events ingest appends for an item (record_original, then record_derivatives)."""
    subject = Subject(row["id"], row["sha256"])
    actor, now = "station:bench", row["ingested_at"]
    seen: dict[str, JSON] = {"source": row["source_path"], "original_name": row["original_name"],
                             "device": row["device_serial"], "officer": row["officer_no"]}
    drafts = [
        EventDraft(EventType.FILE_INGESTED, actor, subject, {
            **seen, "size": row["size"], "object": {"key": row["object_key"],
                                                    "sha256": row["sha256"],
                                                    "size": row["size"], "version": None},
            "retain_until": format_time(row["retain_until"]), "flags": json.loads(row["flags"]),
            "unit_code": row["unit_code"], "capture": {
                "clock_offset_seconds": None, "station_tz": "Asia/Shanghai",
                "source_mtime": format_time(row["source_mtime"])}}, now),
        EventDraft(EventType.FILE_VERIFIED, actor, subject, {
            "read_back_sha256": row["sha256"], "key": row["object_key"], "version": None}, now),
        EventDraft(EventType.FILE_PROBED, actor, subject, {
            "metadata": json.loads(row["media_json"]), "flags": json.loads(row["flags"]),
            "error": None}, now)]
    for copy in copies:
        drafts.append(EventDraft(EventType.FILE_DERIVED, actor, subject, {
            "name": copy.name, "method": copy.method, "object": {
                "key": copy.object_key, "sha256": copy.sha256, "size": copy.size,
                "version": copy.object_version}}, now))
    return drafts


def insert_items(home: Home, rows: Iterator[dict[str, Any]], count: int,
                 copies: Sequence[Any], events: bool) -> list[dict[str, Any]]:
    log = home.custody_log()
    kept: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    started = time.perf_counter()

    def flush() -> None:
        with write_transaction(log.engine) as conn:
            conn.execute(insert(catalog.evidence), batch)
            derived = [{"evidence_id": r["id"], "name": c.name, "object_key": c.object_key,
                        "object_version": c.object_version, "sha256": c.sha256, "size": c.size,
                        "method": c.method, "created_at": r["ingested_at"]}
                       for r in batch if r["derivatives_state"] == "done" for c in copies]
            if derived:
                conn.execute(insert(catalog.derivatives), derived)
            if events:
                drafts: list[EventDraft] = []
                for r in sorted(batch, key=lambda r: r["ingested_at"]):
                    drafts.extend(item_events(r, copies if r["derivatives_state"] == "done"
                                              else ()))
                log.append(drafts, conn)
        kept.extend({k: r[k] for k in ("id", "sha256", "unit_code", "start_time",
                                       "ingested_at", "officer_no")} for r in batch)
        batch.clear()
        done = len(kept)
        rate = done / (time.perf_counter() - started)
        if done % 20_000 < BATCH:
            say(f"  {done:,}/{count:,} items ({rate:,.0f}/s)")

    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            flush()
    if batch:
        flush()
    return kept


# -- cases ----------------------------------------------------------------------------


def make_cases(home: Home, items: list[dict[str, Any]], officers_by_unit: dict[str, list[User]],
               rng: random.Random) -> tuple[int, int]:
    log = home.custody_log()
    timed = sorted((r for r in items if r["start_time"] is not None and r["unit_code"]),
                   key=lambda r: r["start_time"])
    taken: set[str] = set()
    n_cases = attached = 0
    for n in range(max(20, len(items) * CASES_PER_1000 // 1000)):
        anchor = rng.randrange(len(timed))
        unit = timed[anchor]["unit_code"]
        managers = officers_by_unit.get(unit)
        if not managers:
            continue
        creator = rng.choice(managers)
        created = timed[anchor]["ingested_at"] + timedelta(days=rng.randrange(1, 20))
        case = create_case(log, creator, f"{timed[anchor]['start_time']:%m月%d日}"
                           f"{rng.choice(['盗窃', '交通事故', '纠纷', '抢劫', '寻衅滋事', '诈骗'])}案",
                           f"HHHT-{2026}-{n + 1:06d}", created)
        n_cases += 1
        chosen = [r for r in timed[anchor:anchor + rng.randrange(1, 11)]
                  if r["unit_code"] == unit and r["id"] not in taken]
        if not chosen:
            continue
        until = created + timedelta(days=36525)
        with write_transaction(log.engine) as conn:
            drafts = []
            for r in chosen:
                taken.add(r["id"])
                conn.execute(insert(tables.case_evidence).values(
                    case_id=case.id, evidence_id=r["id"], attached_at=created,
                    attached_by=creator.name))
                conn.execute(update(catalog.evidence).where(catalog.evidence.c.id == r["id"])
                             .values(retention_category="case", retain_until=until))
                drafts.append(EventDraft(EventType.CASE_EVIDENCE_ATTACHED, creator.actor,
                                         Subject(r["id"], r["sha256"]), {
                    "case_id": case.id, "case_number": case.number,
                    "retention": {"category": "case", "retain_until": format_time(until)},
                    "objects": []}, created))
                attached += 1
            log.append(drafts, conn)
    return n_cases, attached


# -- the build ------------------------------------------------------------------------


def build(root: Path, database_url: str | None, items: int, events: bool) -> dict[str, Any]:
    rng = random.Random(20261207)
    t0 = time.perf_counter()
    home, _ = init_home(Settings(home=root, database_url=database_url, log_origin=ORIGIN,
                                 s3_endpoint=None), ORIGIN)
    log, op = home.custody_log(), operator("bench")
    add_agency(log, op, "nmg", "内蒙古自治区公安厅", Level.REGION, None)
    add_agency(log, op, AGENCY, "呼和浩特市公安局", Level.CITY, "nmg")
    for code, name in UNITS:
        add_unit(log, op, code, AGENCY, name)
    officers, pool = force(rng)
    say(f"registering {len(officers) + len(pool) + 1} recorders")
    for o in officers:
        register_device(log, op, o.device, o.number, o.unit, officer_name=o.name)
    for serial, unit in pool:
        register_device(log, op, serial, "000000", unit, officer_name="备用")
    register_device(log, op, REAL_DEVICE, REAL_OFFICER, UNITS[0][0], officer_name="王建国")
    say("adding 50 bench users with passwords")
    users: list[dict[str, str]] = []
    by_unit: dict[str, list[User]] = {}
    now = datetime.now(UTC)
    plan = ([(f"co{n:02d}", Role.CASE_OFFICER, None, UNITS[n % len(UNITS)][0]) for n in range(30)]
            + [(f"of{n:02d}", Role.OFFICER, officers[n * 7].number, officers[n * 7].unit)
               for n in range(15)]
            + [(f"ad{n:02d}", Role.ADMIN, None, UNITS[n % len(UNITS)][0]) for n in range(5)])
    for name, role, number, unit in plan:
        user, _token = add_user(log, f"bench.{name}", role, number, by=op, unit_code=unit)
        set_password(log, user.name, PASSWORD, by=op, now=now)
        users.append({"name": user.name, "role": role.value, "unit": unit,
                      "officer_no": number or ""})
        if role is Role.CASE_OFFICER:
            by_unit.setdefault(unit, []).append(user)
    say("ingesting a real 3-segment recording (ffmpeg, Ingestor: copy, probe, remux)")
    real_ids = ingest_real(home, real_volume(root), UNITS[0][0])
    with home.engine().connect() as conn:
        copies = conn.execute(select(catalog.derivatives).where(
            catalog.derivatives.c.evidence_id == real_ids[0])).all()
    say(f"writing {items:,} catalogue rows {'with' if events else 'WITHOUT'} custody events "
        f"(batches of {BATCH})")
    t1 = time.perf_counter()
    kept = insert_items(home, synthetic_rows(items, officers, pool, rng), items, copies, events)
    insert_s = time.perf_counter() - t1
    say("making cases")
    n_cases, attached = make_cases(home, kept, by_unit, rng)
    engine = home.engine()
    # the custody event index (what serving a file checks its copy against) as the first
    # request would bring it up to date, so that ANALYZE sees it whole
    refresh(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        else:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    rng2 = random.Random(5)
    playable = [r["id"] for r in rng2.sample(kept, 2000)]
    with engine.connect() as conn:
        ev = catalog.evidence
        playable = list(conn.execute(select(ev.c.id, ev.c.unit_code, ev.c.officer_no).where(
            ev.c.id.in_(playable), ev.c.derivatives_state == "done")).all())
    return {"version": CORPUS_VERSION, "items": items, "database_url": database_url,
            "custody_events": events, "users": users, "password": PASSWORD,
            "real_ids": real_ids, "playable": [list(p) for p in playable],
            "officers": [[o.number, o.name, o.unit, o.device] for o in officers],
            "units": [u for u, _ in UNITS], "span": [format_time(SPAN_START),
                                                     format_time(SPAN_START + SPAN)],
            "cases": n_cases, "attached": attached, "insert_s": round(insert_s, 1),
            "build_s": round(time.perf_counter() - t0, 1)}


def admin_engine(admin_url: str) -> Any:
    return create_engine(admin_url, isolation_level="AUTOCOMMIT")


def drop_pg(admin_url: str, items: int) -> None:
    engine = admin_engine(admin_url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_database(items)}" WITH (FORCE)'))
    engine.dispose()
    shutil.rmtree(home_dir(items, True), ignore_errors=True)


def corpus(items: int, pg: bool, rebuild: bool = False, events: bool = True,
           admin_url: str = DEFAULT_PG_ADMIN_URL) -> tuple[Path, dict[str, Any]]:
    """The cached home for ``items`` (built when missing); returns (root, facts)."""
    root = home_dir(items, pg)
    if rebuild:
        if pg:
            drop_pg(admin_url, items)
        shutil.rmtree(root, ignore_errors=True)
    facts = load_facts(root)
    if facts is not None:
        return root, facts
    shutil.rmtree(root, ignore_errors=True)
    database_url = None
    if pg:
        name = pg_database(items)
        engine = admin_engine(admin_url)
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        database_url = make_url(admin_url).set(database=name).render_as_string(
            hide_password=False)
    say(f"building {root} ({items:,} items; cached for later runs)")
    facts = build(root, database_url, items, events)
    (root / "bench-facts.json").write_text(json.dumps(facts, ensure_ascii=False, default=str))
    say(f"built in {facts['build_s']} s ({facts['insert_s']} s for the items)")
    return root, facts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--no-events", action="store_true",
                        help="catalogue rows only, no custody events (faster; not consistent)")
    parser.add_argument("--drop", action="store_true",
                        help="drop the cached corpus (PostgreSQL: its database) and exit")
    args = parser.parse_args(argv)
    if args.drop:
        if args.pg:
            drop_pg(args.pg_admin_url, args.items)
        shutil.rmtree(home_dir(args.items, args.pg), ignore_errors=True)
        return 0
    root, facts = corpus(args.items, args.pg, args.rebuild, not args.no_events, args.pg_admin_url)
    print(json.dumps({"home": str(root), **{k: facts[k] for k in (
        "items", "database_url", "cases", "attached", "build_s", "insert_s")}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
