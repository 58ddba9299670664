"""Benchmark ingesting originals and making playback copies, against baselines run alongside.

    .venv/bin/python bench/ingest.py            # 4 x 1 GiB, 3 repetitions, 4 GiB RSS file, 60 s clips
    .venv/bin/python bench/ingest.py --quick    # 4 x 256 MiB, 1 repetition, 1 GiB RSS file, 20 s clips
    .venv/bin/python bench/ingest.py --json > result.json   # table to stderr, JSON to stdout
    .venv/bin/python bench/ingest.py --clean    # delete the cached inputs (bench/out/ingest/) and exit

Originals: random files (they are not media, so nothing is derived), generated once
under bench/out/ingest/ and read through ``cat`` before every measurement so the
source is the page cache, never the disk. The ingest runs through the Python API
(``ingest.pipeline.Ingestor`` with ``derive=False``) in a subprocess per
repetition, in a fresh EVIDENCE_HOME prepared by ``evidence init``; the subprocess
times ``Ingestor.ingest`` (copy with hashing, fsync, read-back from disk, custody
events) and reports its own peak RSS. Baselines, each writing to the same file
system, interleaved with the ingest in rotating order (the machine may be shared):

A  ``cat files | dd of=... bs=8M conv=fsync``: the durable-write limit;
R  ``dd iflag=direct`` of A's output: reading the bytes back from the disk
   (A + R is what a write-then-read-back needs when nothing overlaps);
A_direct  A with ``oflag=direct``: the device's durable-write rate without the page cache;
B  ``cp``, ``sync``, ``openssl dgst -sha256`` of sources and copies: a clerk's script;
C  ``ocopy`` (pip package): xxh64 while copying, verify from the page cache, no fsync;
P  a prototype of the copy path suggested for ingest/originals.py and storage/local.py
   (bench-only code): O_DIRECT writes and read-back, SHA-256 on a second thread while
   the next buffer is read and written, each file's read-back overlapping the next copy.

Everything unrelated to the measurement (init, warming, cleaning, a ``sync`` so no
measurement inherits another's dirty pages) is outside the timed region.

Playback copies: ``media.playback.make_playback_copy`` on an H.264/AAC MP4 (remux)
and on an MPEG-4 Part 2 AVI with PCM audio (transcode to <= 720p), both 1080p30 with
some sensor-like noise, generated once with ffmpeg's lavfi sources. The process is
pinned to two CPUs. Reported: x realtime by wall time, ffmpeg's CPU seconds (an
upper bound "if two idle cores" follows from them) and the SSIM of the transcode
against the source scaled to the same size.

Each ingest records a trace (spans of copy, fsync, read-back, record, with the copy
split into source reads, write calls and hashing) from wrappers the subprocess
installs around the pipeline's functions; the profile section prints it.
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

_BENCH_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _BENCH_DIR.parent
# Run as a script, Python puts bench/ first on sys.path, where this very file would
# shadow the ``ingest`` package; the repository root must come first.
if sys.path and Path(sys.path[0] or ".").resolve() == _BENCH_DIR:
    sys.path[0] = str(_REPO_ROOT)

import argparse
import fcntl
import hashlib
import itertools
import json
import mmap
import os
import re
import resource
import shutil
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TextIO

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bench.common import (
    Result,
    add_json_option,
    add_load_and_duration,
    environment,
    new_parser,
    page_cache_fraction,
    paired_ratios,
    print_environment,
    print_listing,
    publish,
    say,
)

MIB = 1024 * 1024
GIB = 1024 * MIB
OUT_DIR = _BENCH_DIR / "out" / "ingest"
VENV_BIN = Path(sys.executable).parent
FILES = 4
GEN_CHUNK = 8 * MIB


# -- results ----------------------------------------------------------------


@dataclass
class Run:
    env: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    ratios: list[Result] = field(default_factory=list)
    times: list[Result] = field(default_factory=list)
    media: list[Result] = field(default_factory=list)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"env": self.env, "config": self.config,
                "ratios": {r.key: r.to_json() for r in self.ratios},
                "times": {r.key: r.to_json() for r in self.times},
                "media": {r.key: r.to_json() for r in self.media},
                "profiles": self.profiles, "warnings": self.warnings}


# -- inputs -----------------------------------------------------------------


def random_file(path: Path, size: int) -> None:
    """``size`` random bytes (AES-CTR keystream under a random key: fast and incompressible)."""
    if path.is_file() and path.stat().st_size == size:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    encryptor = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16))).encryptor()
    zeros = bytes(GEN_CHUNK)
    with partial.open("wb") as out:
        left = size
        while left:
            n = min(left, GEN_CHUNK)
            out.write(encryptor.update(zeros[:n]))
            left -= n
        out.flush()
        os.fsync(out.fileno())  # so no measurement pays for writing the inputs back
    partial.replace(path)


def source_set(count: int, size: int) -> Path:
    folder = OUT_DIR / f"src-{count}x{size // MIB}MiB"
    for n in range(count):
        random_file(folder / f"clip-{n + 1}.bin", size)
    return folder


def files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def warm(files: Sequence[Path]) -> float:
    """``cat`` the files to /dev/null; returns GB/s (tens of GB/s means they were cached)."""
    started = time.perf_counter()
    subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL, check=True)
    return sum(f.stat().st_size for f in files) / (time.perf_counter() - started) / 1e9


def clean_slate(*folders: Path) -> None:
    """Remove outputs and flush: the next measurement starts with no dirty pages."""
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    os.sync()


# -- the ingest, in a subprocess ------------------------------------------------


class Trace:
    """Spans recorded by wrappers around the pipeline's functions (worker process only)."""

    def __init__(self) -> None:
        self.origin = time.perf_counter()
        self.spans: list[dict[str, Any]] = []
        self.local = threading.local()
        self.lock = threading.Lock()

    def now(self) -> float:
        return time.perf_counter() - self.origin

    @contextmanager
    def span(self, kind: str, name: str, **extra: Any) -> Iterator[dict[str, Any]]:
        record: dict[str, Any] = {"kind": kind, "name": name,
                                  "thread": threading.current_thread().name, **extra}
        record["start"] = self.now()
        try:
            yield record
        finally:
            record["end"] = self.now()
            with self.lock:
                self.spans.append(record)


def install_tracing(trace: Trace) -> None:
    """Wrap the ingest's stages; the wrappers add a perf_counter pair per 8 MiB chunk."""
    import ingest.pipeline as pipeline
    import storage.local as local

    targets: list[tuple[Any, str]] = [
        (pipeline, "copy_original"), (pipeline, "record_original"), (local, "_write_all"),
        (local.LocalUpload, "write"), (local.LocalUpload, "commit"),
        (local.LocalObjectStore, "read_back_sha256"), (os, "fsync")]
    wrapped: dict[str, Any] = {name: getattr(owner, name) for owner, name in targets}
    copy_original, record_original = wrapped["copy_original"], wrapped["record_original"]
    write, write_all, commit = wrapped["write"], wrapped["_write_all"], wrapped["commit"]
    read_back, fsync = wrapped["read_back_sha256"], wrapped["fsync"]

    def traced_copy(path: Path, *args: Any, **kwargs: Any) -> Any:
        with trace.span("copy", path.name, write_s=0.0, syscall_s=0.0) as record:
            trace.local.copy = record
            try:
                return copy_original(path, *args, **kwargs)
            finally:
                trace.local.copy = None

    def traced_write(self: Any, chunk: Any) -> None:
        started = time.perf_counter()
        write(self, chunk)
        current = getattr(trace.local, "copy", None)
        if current is not None:
            current["write_s"] += time.perf_counter() - started

    def traced_write_all(fd: int, data: Any) -> None:
        started = time.perf_counter()
        write_all(fd, data)
        current = getattr(trace.local, "copy", None)
        if current is not None:
            current["syscall_s"] += time.perf_counter() - started

    def traced_commit(self: Any, key: str, **kwargs: Any) -> Any:
        with trace.span("commit", key.rsplit("/", 1)[-1][:12]):
            return commit(self, key, **kwargs)

    def traced_fsync(fd: int) -> None:
        size = os.fstat(fd).st_size
        with trace.span("fsync", "", bytes=size):
            fsync(fd)

    def traced_read_back(self: Any, key: str, version_id: str | None = None) -> Any:
        with trace.span("readback", key.rsplit("/", 1)[-1][:12]):
            return read_back(self, key, version_id)

    def traced_record(*args: Any, **kwargs: Any) -> Any:
        with trace.span("record", ""):
            return record_original(*args, **kwargs)

    replacements: dict[str, Any] = {
        "copy_original": traced_copy, "record_original": traced_record,
        "_write_all": traced_write_all, "write": traced_write, "commit": traced_commit,
        "read_back_sha256": traced_read_back, "fsync": traced_fsync}
    for owner, name in targets:
        setattr(owner, name, replacements[name])


def worker(home: Path, source: Path) -> int:
    """Ingest ``source`` into the initialised ``home``; print one JSON object."""
    from api.home import open_home
    from api.settings import Settings
    from ingest.pipeline import IngestOptions, Ingestor

    trace = Trace()
    install_tracing(trace)
    opened = open_home(Settings(home=home))
    store = opened.object_store()
    ingestor = Ingestor(opened.custody_log(), store,
                        IngestOptions(actor="station:bench", derive=False))
    rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    trace.origin = time.perf_counter()
    results = list(ingestor.ingest(source))
    ingestor.close()
    wall = time.perf_counter() - trace.origin
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "wall_s": wall, "statuses": sorted(r.status for r in results),
        "bytes": sum(r.size or 0 for r in results),
        "reasons": [r.reason for r in results if r.reason],
        "peak_rss_kib": usage.ru_maxrss, "rss_before_ingest_kib": rss_before_kib,
        "cpu_s": usage.ru_utime + usage.ru_stime, "spans": trace.spans}))
    return 0


def fresh_home(scratch: Path, label: str) -> Path:
    home = scratch / f"home-{label}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENCE_")}
    env["EVIDENCE_HOME"] = str(home)
    subprocess.run([str(VENV_BIN / "evidence"), "init", "--origin", "bench.example/ingest"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return home


def run_ingest(home: Path, source: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(home),
                           str(source)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the ingest subprocess failed:\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if set(report["statuses"]) != {"ingested"}:
        raise SystemExit(f"not every file was ingested: {report['statuses']} {report['reasons']}")
    return report


# -- trace analysis -------------------------------------------------------------


Interval = tuple[float, float]


def union(intervals: Sequence[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overlap(a: Sequence[Interval], b: Sequence[Interval]) -> float:
    return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in union(a) for s2, e2 in union(b))


def profile(report: dict[str, Any]) -> dict[str, Any]:
    """Per-file stages and where the wall time went, from one worker's trace."""
    spans = report["spans"]
    copies = sorted((s for s in spans if s["kind"] == "copy"), key=lambda s: s["start"])
    readbacks = sorted((s for s in spans if s["kind"] == "readback"), key=lambda s: s["start"])
    records = sorted((s for s in spans if s["kind"] == "record"), key=lambda s: s["start"])
    commits = [s for s in spans if s["kind"] == "commit"]
    data_fsyncs = [s for s in spans if s["kind"] == "fsync" and s["bytes"] >= MIB]
    files = []
    for n, copy in enumerate(copies):
        inside = [f for f in data_fsyncs if copy["start"] <= f["start"] <= copy["end"]]
        commit = [c for c in commits if copy["start"] <= c["start"] <= copy["end"]]
        fsync_s = sum(f["end"] - f["start"] for f in inside)
        commit_s = sum(c["end"] - c["start"] for c in commit)
        copy_s = copy["end"] - copy["start"]
        back = readbacks[n] if n < len(readbacks) else None
        rec = records[n] if n < len(records) else None
        files.append({
            "file": copy["name"], "bytes": inside[0]["bytes"] if inside else None,
            "copy_start": copy["start"], "copy_end": copy["end"],
            "source_read_s": copy_s - copy["write_s"] - commit_s,
            "write_syscalls_s": copy["syscall_s"], "sha256_s": copy["write_s"] - copy["syscall_s"],
            "fsync_s": fsync_s, "commit_other_s": commit_s - fsync_s,
            "readback_start": back["start"] if back else None,
            "readback_end": back["end"] if back else None,
            "readback_s": back["end"] - back["start"] if back else None,
            "record_s": rec["end"] - rec["start"] if rec else None,
        })
    wall = report["wall_s"]
    copy_iv = [(c["start"], c["end"]) for c in copies]
    back_iv = [(b["start"], b["end"]) for b in readbacks]
    fsync_iv = [(f["start"], f["end"]) for f in data_fsyncs]
    total_bytes = report["bytes"]

    def rate(seconds: float) -> float | None:
        return total_bytes / seconds / 1e6 if seconds > 0 else None

    sums = {k: sum(f[k] or 0.0 for f in files) for k in
            ("source_read_s", "write_syscalls_s", "sha256_s", "fsync_s", "commit_other_s",
             "readback_s", "record_s")}
    last_copy_end = max((c["end"] for c in copies), default=0.0)
    return {
        "wall_s": wall, "files": files, "sums_s": sums,
        "mb_per_s": {"wall": rate(wall), "write_syscalls": rate(sums["write_syscalls_s"]),
                     "sha256": rate(sums["sha256_s"]), "fsync": rate(sums["fsync_s"]),
                     "readback": rate(sums["readback_s"])},
        "readback_overlapping_copies_s": overlap(back_iv, copy_iv),
        "readback_overlapping_fsync_s": overlap(back_iv, fsync_iv),
        "tail_after_last_copy_s": wall - last_copy_end,
        "peak_rss_mib": report["peak_rss_kib"] / 1024,
        "rss_before_ingest_mib": report["rss_before_ingest_kib"] / 1024,
        "cpu_s": report["cpu_s"],
    }


# -- baselines ------------------------------------------------------------------


def shell(script: str, *args: str) -> float:
    """Run ``bash -c script`` (args as $1...) and return its wall time."""
    started = time.perf_counter()
    done = subprocess.run(["bash", "-c", "set -euo pipefail; " + script, "bench", *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"baseline failed ({script}): {done.stderr[-2000:]}")
    return elapsed


def baseline_a(files: Sequence[Path], dest: Path) -> float:
    dest.mkdir(parents=True)
    return shell('out="$1"; shift; cat "$@" | dd of="$out" bs=8M conv=fsync status=none',
                 str(dest / "all.bin"), *map(str, files))


def baseline_a_direct(files: Sequence[Path], dest: Path) -> float:
    """A with O_DIRECT writes: the device's durable-write rate without the page cache."""
    dest.mkdir(parents=True, exist_ok=True)
    return shell('out="$1"; shift; cat "$@" | dd of="$out" bs=8M iflag=fullblock oflag=direct '
                 'conv=fsync status=none', str(dest / "direct.bin"), *map(str, files))


def baseline_r(dest: Path) -> float:
    return shell('dd if="$1" of=/dev/null bs=8M iflag=direct status=none', str(dest / "all.bin"))


def baseline_b(files: Sequence[Path], dest: Path) -> tuple[float, bool]:
    dest.mkdir(parents=True)
    copies = [dest / f.name for f in files]
    started = time.perf_counter()
    done = subprocess.run(
        ["bash", "-c", 'set -euo pipefail; d="$1"; shift; cp "$@" "$d"/; sync; '
         'openssl dgst -sha256 "$@" "$d"/*', "bench", str(dest), *map(str, files)],
        check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    digests = dict(re.findall(r"^SHA2?-?256\((.+)\)= ([0-9a-f]{64})$", done.stdout, re.M))
    same = all(str(f) in digests and digests.get(str(f)) == digests.get(str(c))
               for f, c in zip(files, copies, strict=True))
    return elapsed, same


def baseline_c(source: Path, dest: Path) -> float:
    dest.mkdir(parents=True)
    return shell('"$1" "$2" "$3" >/dev/null', str(VENV_BIN / "ocopy"), str(source), str(dest))


# -- prototype of the suggested copy path (bench only) -----------------------------

PROTO_CHUNK = 8 * MIB  # a multiple of every logical block size, as O_DIRECT needs


def _hash_while(fill: Callable[[memoryview], int], use: Callable[[memoryview], None] | None,
                hasher: ThreadPoolExecutor) -> tuple[str, int]:
    """Fill page-aligned buffers in turn; SHA-256 each on ``hasher`` while ``use`` runs here.

    Two buffers: while one is hashed (hashlib drops the GIL) the other is filled and used.
    """
    digest = hashlib.sha256()
    buffers = [mmap.mmap(-1, PROTO_CHUNK), mmap.mmap(-1, PROTO_CHUNK)]
    pending: list[Future[None] | None] = [None, None]
    size = 0
    try:
        for turn in itertools.count():
            slot = turn % 2
            waiting = pending[slot]
            if waiting is not None:
                waiting.result()  # this buffer's bytes are hashed: it may be refilled
            view = memoryview(buffers[slot])
            n = fill(view)
            if n == 0:
                break
            pending[slot] = hasher.submit(digest.update, view[:n])
            if use is not None:
                use(view[:n])
            size += n
        for waiting in pending:
            if waiting is not None:
                waiting.result()
    finally:
        for buffer in buffers:
            with suppress(BufferError):  # a view still alive: the collector frees it later
                buffer.close()
    return digest.hexdigest(), size


def _write_direct(fd: int, view: memoryview) -> None:
    if len(view) % 4096:  # the tail: O_DIRECT needs whole blocks, so finish buffered
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_DIRECT)
    while view:
        view = view[os.write(fd, view):]


def _read_full(fd: int, view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = os.readv(fd, [view[got:]])
        if n == 0:
            break
        got += n
    return got


def prototype_copy(src: Path, dst: Path, hasher: ThreadPoolExecutor) -> tuple[str, int]:
    """Source (page cache) -> O_DIRECT write, hashed alongside; then fsync."""
    source = os.open(src, os.O_RDONLY)
    out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_DIRECT, 0o600)
    try:
        result = _hash_while(lambda view: _read_full(source, view),
                             lambda view: _write_direct(out, view), hasher)
        os.fsync(out)  # file size, extents and the device's write cache
        return result
    finally:
        os.close(out)
        os.close(source)


def prototype_read_back(dst: Path, hasher: ThreadPoolExecutor) -> tuple[str, int]:
    """Read the copy from the device with O_DIRECT (never the page cache), hashed alongside."""
    fd = os.open(dst, os.O_RDONLY | os.O_DIRECT)
    at_end = False

    def fill(view: memoryview) -> int:
        # A short O_DIRECT read means the end of the file; reading on from there would
        # be unaligned, which O_DIRECT refuses.
        nonlocal at_end
        if at_end:
            return 0
        n = os.readv(fd, [view])
        at_end = n < len(view)
        return n

    try:
        return _hash_while(fill, None, hasher)
    finally:
        os.close(fd)


def prototype_ingest(files: Sequence[Path], dest: Path) -> float:
    """What ingest/originals.py could do: one file's read-back overlaps the next one's copy."""
    dest.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(1) as copy_hasher, ThreadPoolExecutor(1) as back_hasher, \
            ThreadPoolExecutor(1) as verifier:
        checks: list[tuple[tuple[str, int], Future[tuple[str, int]]]] = []
        for src in files:
            dst = dest / src.name
            copied = prototype_copy(src, dst, copy_hasher)
            checks.append((copied, verifier.submit(prototype_read_back, dst, back_hasher)))
        for copied, back in checks:
            if back.result() != copied:
                raise SystemExit(f"prototype read-back differs: {back.result()} != {copied}")
    return time.perf_counter() - started


# -- the originals measurements -------------------------------------------------


def bench_originals(run: Run, scratch: Path, count: int, size: int, reps: int) -> None:
    source = source_set(count, size)
    files = files_of(source)
    have_ocopy = (VENV_BIN / "ocopy").exists()
    if not have_ocopy:
        run.warnings.append("ocopy is not installed in the venv (pip install ocopy): C skipped")
    samples: dict[str, list[float]] = {"ingest": [], "A": [], "R": [], "A_direct": [], "B": [],
                                       "C": [], "P": []}
    profiles: list[dict[str, Any]] = []
    warm_rates: list[float] = []
    residency: list[float] = []
    steps = ["ingest", "A", "B", "C", "P"] if have_ocopy else ["ingest", "A", "B", "P"]
    for rep in range(reps):
        order = steps[rep % len(steps):] + steps[:rep % len(steps)]
        for step in order:
            dest = scratch / f"{step}-{rep}"
            home = fresh_home(scratch, str(rep)) if step == "ingest" else None
            clean_slate()
            warm_rates.append(warm(files))
            residency.append(page_cache_fraction(files) or 0.0)
            say(f"rep {rep + 1}/{reps}: {step} ({count} x {size // MIB} MiB)")
            if step == "ingest" and home is not None:
                report = run_ingest(home, source)
                samples["ingest"].append(report["wall_s"])
                profiles.append(profile(report))
                clean_slate(home)
            elif step == "A":
                samples["A"].append(baseline_a(files, dest))
                samples["R"].append(baseline_r(dest))
                clean_slate()
                warm(files)
                samples["A_direct"].append(baseline_a_direct(files, dest))
            elif step == "P":
                samples["P"].append(prototype_ingest(files, dest))
            elif step == "B":
                elapsed, same = baseline_b(files, dest)
                samples["B"].append(elapsed)
                if not same:
                    run.warnings.append("baseline B: openssl digests of source and copy differ")
            else:
                samples["C"].append(baseline_c(source, dest))
            clean_slate(dest)
    total = count * size
    run.env["sources_in_page_cache_min_fraction"] = min(residency)
    run.env["warm_cat_gb_per_s_min"] = round(min(warm_rates), 2)
    if min(residency) < 0.99:
        run.warnings.append(f"only {min(residency):.0%} of the sources were in the page cache "
                            "before some measurement (fincore)")
    ingest = samples["ingest"]
    floor = [a + r for a, r in zip(samples["A"], samples["R"], strict=True)]
    label = f"{count} x {size // MIB} MiB"
    run.ratios.append(Result("ingest_over_A", f"ingest / A (cat|dd conv=fsync), {label}", "x",
                             paired_ratios(ingest, samples["A"]), 1.3, False,
                             "paired per repetition, median"))
    run.ratios.append(Result("ingest_over_B", f"ingest / B (cp; sync; openssl sha256 x2), {label}",
                             "x", paired_ratios(ingest, samples["B"]), 0.8, False))
    if have_ocopy:
        run.ratios.append(Result("ingest_over_C", f"ingest / C (ocopy, xxh64, no fsync), {label}",
                                 "x", paired_ratios(ingest, samples["C"]), 1.5, False))
    run.ratios.append(Result("ingest_over_A_plus_R", f"ingest / (A + R), {label}", "x",
                             paired_ratios(ingest, floor), None, False,
                             "A + R: durable write, then a disk read of it, not overlapped"))
    run.ratios.append(Result("ingest_over_A_direct", f"ingest / A_direct (dd oflag=direct), {label}",
                             "x", paired_ratios(ingest, samples["A_direct"]), None, False,
                             "the device's durable-write rate when the page cache is bypassed"))
    run.ratios.append(Result("prototype_over_A", f"prototype P / A, {label}", "x",
                             paired_ratios(samples["P"], samples["A"]), 1.3, False,
                             "P: the copy path suggested for ingest/originals.py, bench-only code"))
    run.ratios.append(Result("prototype_over_B", f"prototype P / B, {label}", "x",
                             paired_ratios(samples["P"], samples["B"]), 0.8, False))
    if have_ocopy:
        run.ratios.append(Result("prototype_over_C", f"prototype P / C, {label}", "x",
                                 paired_ratios(samples["P"], samples["C"]), 1.5, False))
    names = {"ingest": "ingest (Python API, derive=False)", "A": "A: cat | dd bs=8M conv=fsync",
             "R": "R: dd iflag=direct of A's output (disk read)",
             "A_direct": "A_direct: cat | dd bs=8M oflag=direct conv=fsync",
             "B": "B: cp; sync; openssl dgst -sha256 src+copy", "C": "C: ocopy (defaults)",
             "P": "P: prototype O_DIRECT copy+read-back, hashing threads"}
    for key, values in samples.items():
        if values:
            run.times.append(Result(f"{key}_s", f"{names[key]}, {label}", "s", values,
                                    note=f"{total / statistics.median(values) / 1e6:.0f} MB/s"))
    middle = sorted(range(len(profiles)), key=lambda i: profiles[i]["wall_s"])[len(profiles) // 2]
    run.profiles[f"ingest {label}"] = profiles[middle]
    run.times.append(Result("ingest_peak_rss_mib_many", f"ingest peak RSS, {label}", "MiB",
                            [p["peak_rss_mib"] for p in profiles]))


def bench_big_file(run: Run, scratch: Path, size: int) -> None:
    folder = OUT_DIR / f"big-{size // MIB}MiB"
    random_file(folder / "big.bin", size)
    files = files_of(folder)
    home = fresh_home(scratch, "big")
    clean_slate()
    warm(files)
    say(f"ingest of one {size // MIB} MiB file (peak RSS, profile)")
    report = run_ingest(home, folder)
    clean_slate(home)
    warm(files)
    dest = scratch / "A-big"
    say(f"A of one {size // MIB} MiB file")
    a = baseline_a(files, dest)
    clean_slate(dest)
    warm(files)
    say(f"prototype P of one {size // MIB} MiB file")
    p = prototype_ingest(files, dest)
    clean_slate(dest)
    summary = profile(report)
    label = f"1 x {size // MIB} MiB"
    run.ratios.append(Result("prototype_over_A_big", f"prototype P / A, {label}", "x", [p / a],
                             None, False, f"one repetition; P took {p:.2f} s, A {a:.2f} s, "
                             f"ingest {report['wall_s']:.2f} s"))
    run.profiles[f"ingest {label}"] = summary
    run.times.append(Result("ingest_peak_rss_mib", f"ingest peak RSS, {label}", "MiB",
                            [summary["peak_rss_mib"]], 200 * 1e6 / MIB, False,
                            f"{summary['rss_before_ingest_mib']:.0f} MiB before the first "
                            "byte (interpreter, imports, database); goal 200 MB"))
    run.ratios.append(Result("ingest_over_A_big", f"ingest / A, {label}", "x",
                             [report["wall_s"] / a], None, False, "one repetition"))


# -- playback copies ------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    key: str
    path: Path
    seconds: int


def make_clips(seconds: int) -> tuple[Clip, Clip]:
    from media.ffmpeg_tools import run_ffmpeg

    folder = OUT_DIR / "media"
    folder.mkdir(parents=True, exist_ok=True)
    lavfi = ["-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
             "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
             "-vf", "noise=alls=4:allf=t", "-shortest"]
    specs = {
        # what recorders write: H.264 4:2:0 + AAC, index at the end, ~8 Mbit/s
        "remux": (folder / f"bodycam-h264-{seconds}s.mp4",
                  ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M", "-maxrate", "8M",
                   "-bufsize", "16M", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac",
                   "-b:a", "128k"]),
        # an older recorder: MPEG-4 Part 2 in AVI with PCM audio, ~13 Mbit/s
        "transcode": (folder / f"legacy-mpeg4-{seconds}s.avi",
                      ["-c:v", "mpeg4", "-q:v", "5", "-g", "30", "-c:a", "pcm_s16le"]),
    }
    clips = []
    for key, (path, codec_args) in specs.items():
        if not path.exists():
            say(f"generating {path.name}")
            partial = path.with_name(f"partial-{path.name}")
            run_ffmpeg([*lavfi, *codec_args, str(partial)], what=f"benchmark clip {path.name}")
            partial.replace(path)
        clips.append(Clip(key, path, seconds))
    return clips[0], clips[1]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ssim(copy: Path, source: Path, width: int, height: int) -> float | None:
    """SSIM of the copy against the source scaled (bicubic) to the copy's size."""
    from media.ffmpeg_tools import ffmpeg_executable

    done = subprocess.run(
        [ffmpeg_executable(), "-nostdin", "-hide_banner", "-i", str(copy), "-i", str(source),
         "-lavfi", f"[1:v]scale={width}:{height}:flags=bicubic[ref];[0:v][ref]ssim",
         "-f", "null", "-"], capture_output=True, text=True, check=False)
    found = re.findall(r"All:([0-9.]+)", done.stderr)
    return float(found[-1]) if found else None


def bench_playback(run: Run, scratch: Path, seconds: int, remux_reps: int,
                   transcode_reps: int) -> None:
    from media.playback import make_playback_copy
    from media.probe import probe

    remux, transcode = make_clips(seconds)
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, allowed[:2])  # ffmpeg children inherit it
    run.env["playback_cpus"] = allowed[:2]
    try:
        for clip, reps, goal in ((remux, remux_reps, 100.0), (transcode, transcode_reps, 4.0)):
            info = probe(clip.path)  # derive probes once anyway; the copy reuses it
            speeds: list[float] = []
            cpu: list[float] = []
            result = None
            for rep in range(reps):
                clean_slate()
                warm([clip.path])
                say(f"playback copy ({clip.key}) {rep + 1}/{reps}")
                dst = scratch / f"play-{clip.key}-{rep}.mp4"
                cpu_before = children_cpu()
                started = time.perf_counter()
                result = make_playback_copy(clip.path, dst, media=info)
                elapsed = time.perf_counter() - started
                cpu.append(children_cpu() - cpu_before)
                speeds.append(clip.seconds / elapsed)
                if result is None or result.method != clip.key:
                    raise SystemExit(f"{clip.path.name}: expected a {clip.key}, got "
                                     f"{result.method if result else None}")
            assert result is not None
            size = result.path.stat().st_size
            out = result.output
            cpu_per_s = statistics.median(cpu) / clip.seconds
            note = (f"{clip.path.name} ({clip.path.stat().st_size * 8 / clip.seconds / 1e6:.1f} "
                    f"Mbit/s) -> {out.video_codec}/{out.audio_codec} {out.width}x{out.height}, "
                    f"{size * 8 / clip.seconds / 1e6:.2f} Mbit/s; ffmpeg "
                    f"{cpu_per_s:.3f} CPU-s per media s (<= {2 / cpu_per_s:.1f}x if two idle "
                    "cores)")
            if clip.key == "transcode" and out.width and out.height:
                score = ssim(result.path, clip.path, out.width, out.height)
                run.env["transcode_ssim"] = score
                note += f"; SSIM vs bicubic-scaled source {score}"
            run.media.append(Result(f"{clip.key}_x_realtime",
                                    f"playback copy: {clip.key} 1080p {clip.seconds} s"
                                    + (" -> 720p, 2 CPUs" if clip.key == "transcode" else ""),
                                    "x rt", speeds, goal, True, note))
    finally:
        os.sched_setaffinity(0, allowed)


# -- report -----------------------------------------------------------------------


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"


def print_table(run: Run, out: TextIO) -> None:
    def line(text: str = "") -> None:
        print(text, file=out)

    print_environment(run.env, run.config, out)
    for title, rows in (("ratios of wall time (paired, median of reps)", run.ratios),
                        ("times", run.times), ("playback copies", run.media)):
        line()
        line(f"== {title} ==")
        line(f"  {'metric':<62} {'median':>9} {'unit':<5} {'reps: min..max':>22} {'goal':>8} "
             f"{'met':>4}")
        for r in rows:
            spread = f"{len(r.samples)}: {fmt(min(r.samples))}..{fmt(max(r.samples))}"
            goal = "" if r.goal is None else ("≥" if r.higher_is_better else "≤") + fmt(r.goal)
            met = {None: "", True: "yes", False: "NO"}[r.meets_goal]
            line(f"  {r.label:<62} {fmt(r.value):>9} {r.unit:<5} {spread:>22} {goal:>8} {met:>4}")
            if r.note:
                line(f"      {r.note}")
    for label, prof in run.profiles.items():
        line()
        line(f"== where the time goes: {label} (the median repetition) ==")
        line(f"  wall {prof['wall_s']:.2f} s, CPU {prof['cpu_s']:.2f} s, peak RSS "
             f"{prof['peak_rss_mib']:.0f} MiB ({prof['rss_before_ingest_mib']:.0f} before ingest)")
        line(f"  {'file':<12} {'copy from..to':>16} {'src read':>9} {'write()':>8} {'sha256':>7} "
             f"{'fsync':>7} {'commit':>7} {'read-back from..to':>20} {'record':>7}")
        for f in prof["files"]:
            back = (f"{f['readback_start']:.2f}..{f['readback_end']:.2f}"
                    if f["readback_start"] is not None else "-")
            line(f"  {f['file']:<12} {f['copy_start']:>7.2f}..{f['copy_end']:<7.2f} "
                 f"{f['source_read_s']:>9.2f} {f['write_syscalls_s']:>8.2f} {f['sha256_s']:>7.2f} "
                 f"{f['fsync_s']:>7.2f} {f['commit_other_s']:>7.2f} {back:>20} "
                 f"{fmt(f['record_s']):>7}")
        sums = prof["sums_s"]
        rates = prof["mb_per_s"]
        line(f"  sums (s): source read {sums['source_read_s']:.2f}, write() "
             f"{sums['write_syscalls_s']:.2f} ({fmt(rates['write_syscalls'])} MB/s), sha256 "
             f"{sums['sha256_s']:.2f} ({fmt(rates['sha256'])} MB/s), fsync {sums['fsync_s']:.2f} "
             f"({fmt(rates['fsync'])} MB/s), other commit {sums['commit_other_s']:.2f}, read-back "
             f"{sums['readback_s']:.2f} ({fmt(rates['readback'])} MB/s), record "
             f"{sums['record_s']:.2f}")
        line(f"  read-back overlapping another file's copy: "
             f"{prof['readback_overlapping_copies_s']:.2f} s (of which during its fsync "
             f"{prof['readback_overlapping_fsync_s']:.2f} s); after the last copy ended: "
             f"{prof['tail_after_last_copy_s']:.2f} s")
    print_listing("warnings", run.warnings, out, marker="! ")


# -- main ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = new_parser(__doc__, "4 x 256 MiB, 1 repetition, a 1 GiB RSS file, 20 s clips")
    add_json_option(parser)
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3; quick 1)")
    parser.add_argument("--skip-originals", action="store_true")
    parser.add_argument("--skip-playback", action="store_true")
    parser.add_argument("--clean", action="store_true", help="delete the cached inputs and exit")
    parser.add_argument("--worker", nargs=2, metavar=("HOME", "SOURCE"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def needed_space(count: int, size: int, big: int) -> int:
    """Inputs not yet generated, plus the largest output alive at once, plus 1 GiB."""
    missing = 0
    for n in range(count):
        f = OUT_DIR / f"src-{count}x{size // MIB}MiB" / f"clip-{n + 1}.bin"
        missing += 0 if f.is_file() and f.stat().st_size == size else size
    big_file = OUT_DIR / f"big-{big // MIB}MiB" / "big.bin"
    missing += 0 if big_file.is_file() and big_file.stat().st_size == big else big
    return missing + max(count * size, big) + GIB


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(Path(args.worker[0]), Path(args.worker[1]))
    if args.clean:
        shutil.rmtree(OUT_DIR, ignore_errors=True)
        say(f"removed {OUT_DIR}")
        return 0
    quick = args.quick
    count, size = FILES, (256 if quick else 1024) * MIB
    big = (1 if quick else 4) * GIB
    reps = args.reps or (1 if quick else 3)
    seconds = 20 if quick else 60
    config = {"quick": quick, "files": count, "file_mib": size // MIB, "big_file_mib": big // MIB,
              "reps": reps, "clip_seconds": seconds, "remux_reps": 3 if quick else 5,
              "transcode_reps": 1 if quick else 3}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(OUT_DIR).free
    if not args.skip_originals and free < needed_space(count, size, big):
        raise SystemExit(f"{free / GIB:.1f} GiB free under {OUT_DIR}; this run needs "
                         f"{needed_space(count, size, big) / GIB:.1f} GiB. Free space or use --quick.")
    load_before = os.getloadavg()
    ffmpeg_version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True,
                                    check=False).stdout.split("\n", 1)[0]
    fs = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "-T", str(OUT_DIR)],
                        capture_output=True, text=True, check=False).stdout.strip()
    run = Run(config=config)
    run.env = environment(
        after_cpus={"memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
                                        / GIB, 1)},
        after_platform={
            "file_system": fs, "free_gib_at_start": round(free / GIB, 1),
            "vm_dirty_ratio/background": [Path(f"/proc/sys/vm/{n}").read_text().strip()
                                          for n in ("dirty_ratio", "dirty_background_ratio")],
            "ffmpeg": ffmpeg_version,
            "ocopy": subprocess.run([str(VENV_BIN / "ocopy"), "--version"], capture_output=True,
                                    text=True, check=False).stdout.strip()
            if (VENV_BIN / "ocopy").exists() else None,
        })
    scratch = OUT_DIR / f"run-{uuid.uuid4().hex[:8]}"
    scratch.mkdir()
    began = time.monotonic()
    try:
        if not args.skip_originals:
            bench_originals(run, scratch, count, size, reps)
            bench_big_file(run, scratch, big)
        if not args.skip_playback:
            bench_playback(run, scratch, seconds, int(config["remux_reps"]),
                           int(config["transcode_reps"]))
    finally:
        clean_slate(scratch)
    add_load_and_duration(run.env, load_before, began)
    publish(run, print_table, args.json, OUT_DIR / ("latest-quick.json" if quick else "latest.json"),
            lambda document: json.dumps(document, indent=2).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
