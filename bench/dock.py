"""Docking throughput with 1..8 simulated recorders, as a ratio to the durable-write limit.

For each recorder count, the same bytes are (a) docked by the station into a fresh
local store (copy, fsync, read back from disk, custody events; playback copies
deferred) and (b) written with `cat | dd bs=8M conv=fsync` to the same filesystem.
Reported: ratio = dock wall time / dd wall time (goal <= 1.4 at 8 recorders), and
aggregate MB/s. Usage: python bench/dock.py [--mb-per-recorder N] [--reps R] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.home import init_home
from api.settings import Settings
from devices.simulated import SimulatedRecorder
from ingest.pipeline import IngestOptions
from ingest.station import DockPolicy, Station

OUT = Path(__file__).parent / "out" / "dock"
FILES_PER_RECORDER = 4


def make_sources(count: int, mb_each: int) -> list[Path]:
    folders = []
    for r in range(count):
        folder = OUT / f"src-{mb_each}" / f"ZFY{r:04d}"
        if not folder.exists():
            tmp = folder.with_suffix(".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            (tmp / "DCIM").mkdir(parents=True)
            for f in range(FILES_PER_RECORDER):
                name = f"ZFY{r:04d}_1000{r:02d}_20261127{9 + f:02d}0000_{f + 1:04d}.MP4"
                with (tmp / "DCIM" / name).open("wb") as out:
                    for _ in range(mb_each // FILES_PER_RECORDER):
                        out.write(os.urandom(1 << 20))
            tmp.rename(folder)
        folders.append(folder)
    return folders


def warm(folders: list[Path]) -> list[Path]:
    files = sorted(p for f in folders for p in f.rglob("*.MP4"))
    for path in files:
        with path.open("rb") as fh:
            while fh.read(8 << 20):
                pass
    return files


def time_dd(files: list[Path], target: Path) -> float:
    start = time.perf_counter()
    cat = subprocess.Popen(["cat", *map(str, files)], stdout=subprocess.PIPE)
    subprocess.run(["dd", f"of={target}", "bs=8M", "conv=fsync", "status=none"],
                   stdin=cat.stdout, check=True)
    cat.wait()
    elapsed = time.perf_counter() - start
    target.unlink()
    return elapsed


def time_dock(folders: list[Path], work: Path) -> float:
    home, _ = init_home(Settings(home=work / "home"))
    mount = work / "media"
    mount.mkdir()
    recorders = [SimulatedRecorder.from_folder(mount, f.name, "100000", f) for f in folders]
    for rec in recorders:
        rec.dock()
    station = Station(home.custody_log(), home.object_store(),
                      IngestOptions(actor="station:bench", derive=False), DockPolicy(wipe=False))
    start = time.perf_counter()
    with ThreadPoolExecutor(len(recorders)) as pool:
        outcomes = list(pool.map(lambda r: station.dock(r, r.label), recorders))
    elapsed = time.perf_counter() - start
    if not all(o.complete for o in outcomes):
        raise SystemExit(f"a dock failed: {[o.error for o in outcomes]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb-per-recorder", type=int, default=128)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for count in (1, 2, 4, 8):
        folders = make_sources(count, args.mb_per_recorder)
        ratios, dock_times, dd_times = [], [], []
        for _ in range(args.reps):
            files = warm(folders)
            with tempfile.TemporaryDirectory(dir=OUT) as tmp:
                dd_t = time_dd(files, Path(tmp) / "dd.out")
                files = warm(folders)
                dock_t = time_dock(folders, Path(tmp))
            ratios.append(dock_t / dd_t)
            dock_times.append(dock_t)
            dd_times.append(dd_t)
        total_mb = count * args.mb_per_recorder
        rows.append({"recorders": count, "mb": total_mb,
                     "dock_s": round(statistics.median(dock_times), 3),
                     "dd_s": round(statistics.median(dd_times), 3),
                     "ratio": round(statistics.median(ratios), 3),
                     "dock_mb_s": round(total_mb / statistics.median(dock_times), 1)})
    if args.json:
        print(json.dumps({"rows": rows, "goal": "ratio <= 1.4 at 8 recorders"}))
        return
    print(f"{'recorders':>9} {'MB':>6} {'dock s':>8} {'dd s':>8} {'ratio':>6} {'dock MB/s':>10}")
    for r in rows:
        print(f"{r['recorders']:>9} {r['mb']:>6} {r['dock_s']:>8} {r['dd_s']:>8} "
              f"{r['ratio']:>6} {r['dock_mb_s']:>10}")
    print("goal: ratio <= 1.4 at 8 recorders (median of reps; dd = cat | dd bs=8M conv=fsync)")


if __name__ == "__main__":
    main()
