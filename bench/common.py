"""What the benchmark scripts share: progress lines, percentiles, figures with goals, paired
ratios, the fincore page-cache check, the environment block, the ends of the table and of
``main``, and the common command-line options.

Standard library only: bench/ingest.py's worker process loads this module too, and that
worker reports its own peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TextIO, TypeVar

LOG = sys.stderr  # progress; the results go to stdout (or stderr with --json)
DEFAULT_PG_ADMIN_URL = os.environ.get("EVIDENCE_BENCH_PG_ADMIN_URL",
                                      "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def say(message: str) -> None:
    print(f"[bench] {message}", file=LOG, flush=True)


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# -- results ----------------------------------------------------------------


@dataclass
class Result:
    """A figure: the median of its samples, met or not against an optional goal."""

    key: str
    label: str
    unit: str
    samples: list[float]
    goal: float | None = None
    higher_is_better: bool = True
    note: str = ""

    @property
    def value(self) -> float:
        return statistics.median(self.samples)

    @property
    def meets_goal(self) -> bool | None:
        if self.goal is None:
            return None
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "unit": self.unit, "median": self.value,
                "samples": self.samples, "goal": self.goal,
                "goal_is": None if self.goal is None else (">=" if self.higher_is_better else "<="),
                "meets_goal": self.meets_goal, "note": self.note}


def paired_ratios(ours: Sequence[float], theirs: Sequence[float]) -> list[float]:
    """``ours[i] / theirs[i]`` for each repetition, the two measured side by side."""
    return [a / b for a, b in zip(ours, theirs, strict=True)]


def median_paired_ratio(ours: Sequence[float], theirs: Sequence[float]) -> float:
    """The median of :func:`paired_ratios`: a shared machine's slow spells cancel in a pair."""
    return statistics.median(paired_ratios(ours, theirs))


# -- measuring ----------------------------------------------------------------


def page_cache_fraction(files: Sequence[Path]) -> float | None:
    """Share of the files' bytes in the page cache, from util-linux ``fincore``; None without it."""
    if shutil.which("fincore") is None:
        return None
    done = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES",
                           *map(str, files)], capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        return None
    resident = sum(int(x) for x in done.stdout.split())
    return resident / sum(f.stat().st_size for f in files)


def environment(*, after_cpus: dict[str, Any] | None = None,
                after_python: dict[str, Any] | None = None,
                after_platform: dict[str, Any] | None = None) -> dict[str, Any]:
    """cpus, python, platform and the start time, each script's own entries in between
    (the ``after_*`` names keep the order the tables and JSON documents have)."""
    return {
        "cpus": os.cpu_count(), **(after_cpus or {}),
        "python": platform.python_version(), **(after_python or {}),
        "platform": platform.platform(), **(after_platform or {}),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def add_load_and_duration(env: dict[str, Any], load_before: Sequence[float], began: float) -> None:
    """The 1-minute load average before and after the run, and its wall time since ``began``."""
    env["load_average_1m_before_after"] = [round(load_before[0], 2),
                                           round(os.getloadavg()[0], 2)]
    env["duration_s"] = round(time.monotonic() - began, 1)


# -- output -----------------------------------------------------------------


def print_environment(env: dict[str, Any], config: dict[str, Any], out: TextIO) -> None:
    print("== environment ==", file=out)
    for key, value in env.items():
        print(f"  {key}: {value}", file=out)
    print(f"  config: {config}", file=out)


def print_listing(title: str, items: Sequence[str], out: TextIO, marker: str = "") -> None:
    """A blank line, ``== title ==`` and a line per item; nothing at all when there are none."""
    if not items:
        return
    print(file=out)
    print(f"== {title} ==", file=out)
    for item in items:
        print(f"  {marker}{item}", file=out)


class Report(Protocol):
    def to_json(self) -> dict[str, Any]: ...


ReportT = TypeVar("ReportT", bound=Report)


def publish(run: ReportT, print_table: Callable[[ReportT, TextIO], None], as_json: bool,
            latest: Path, encode: Callable[[dict[str, Any]], bytes]) -> None:
    """The table on stdout (on stderr with --json), the document ``encode``d to ``latest``
    and, with --json, the document as one JSON line on stdout."""
    print_table(run, sys.stderr if as_json else sys.stdout)
    document = run.to_json()
    latest.write_bytes(encode(document))
    if as_json:
        print(json.dumps(document))


# -- command line -------------------------------------------------------------


def new_parser(doc: str | None, quick_help: str) -> argparse.ArgumentParser:
    """A parser described by the first line of the script's docstring, with its --quick."""
    parser = argparse.ArgumentParser(description=doc.split("\n", 1)[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    return parser


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object on stdout (the table goes to stderr)")


def add_pg_admin_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL,
                        help="a database to connect to for CREATE/DROP DATABASE "
                             "(env EVIDENCE_BENCH_PG_ADMIN_URL)")


def exit_on_sigterm(signum: int, _frame: object) -> None:
    """SIGTERM as SystemExit, which unwinds through ``finally``: the run cleans up after itself."""
    raise SystemExit(128 + signum)
