"""SIGKILL the ingest at random durable-write calls; the rerun must complete it exactly once.

The kill points are drawn from every write/fsync/rename/link/unlink the ingest
makes (counted by the LD_PRELOAD shim in tests/fakes/fsfault.c), so they cover
the object store, SQLite and the temporary files alike.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.home import open_home
from api.settings import Settings
from custody.verify import verify_database
from ingest.fixity import ObjectCollector, check_objects
from ingest.synthetic import make_recorder_image
from storage import catalog
from tests.cli_helpers import build_fsfault, run_cli

SEED = int(os.environ.get("EVIDENCE_CRASH_SEED", "20261127"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int, Path]:
    base = tmp_path_factory.mktemp("crash")
    roles = make_recorder_image(base / "template")
    card = base / "card"
    card.mkdir()
    for role in ("segment_1", "segment_2", "photo", "zero_byte", "truncated_mp4"):
        shutil.copy(roles[role], card)
    lib = build_fsfault(base)
    template = base / "home-template"
    assert run_cli(template, "init").returncode == 0
    home = base / "count-home"
    shutil.copytree(template, home)
    count_file = base / "count"
    result = run_cli(home, "ingest", str(card), "--json",
                     env={"LD_PRELOAD": str(lib), "FSFAULT_COUNT_FILE": str(count_file)})
    assert result.returncode == 0, result.stderr
    return card, lib, int(count_file.read_text()), template


def check_nothing_false(home: Path, *, after_rerun: bool) -> None:
    """Whatever looks complete is complete; after a rerun, nothing is left over."""
    h = open_home(Settings(home=home))
    collector = ObjectCollector()
    report = verify_database(h.engine(), h.verifier(), h.origin, visit=collector)
    check_objects(h.object_store(), collector, report)
    allowed = set() if after_rerun else {"leftover_temporary", "unrecorded_object"}
    assert {p.kind for p in report.problems} <= allowed, report.problems
    h.engine().dispose()


@pytest.fixture
def fast_tmp(tmp_path: Path) -> Iterator[Path]:
    """Homes on tmpfs when there is one: a SIGKILL loses no page cache, so fsync
    latency adds nothing to what these trials test (power loss is not simulated)."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="evidence-crash-", dir=shm))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def crash_trial(tmp_path: Path, card: Path, lib: Path, template: Path, kill_at: int) -> None:
    home = tmp_path / f"home-{kill_at}"
    shutil.copytree(template, home)  # a freshly initialised home
    killed = run_cli(home, "ingest", str(card), "--json",
                     env={"LD_PRELOAD": str(lib), "FSFAULT_KILL_AT": str(kill_at)})
    assert killed.returncode in (-9, 0), killed.stderr
    check_nothing_false(home, after_rerun=False)
    rerun = run_cli(home, "ingest", str(card), "--json")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    lines = [json.loads(x) for x in rerun.stdout.splitlines()]
    assert {x["status"] for x in lines} <= {"ingested", "duplicate"}
    assert len(lines) == len(list(card.iterdir()))
    h = open_home(Settings(home=home))
    with h.engine().connect() as conn:
        rows = conn.execute(select(func.count(), func.count(func.distinct(catalog.evidence.c.sha256)))
                            .select_from(catalog.evidence)).one()
        pending = conn.execute(select(func.count()).select_from(catalog.evidence).where(
            catalog.evidence.c.derivatives_state == "pending")).scalar_one()
    assert rows[0] == rows[1] == len({x["sha256"] for x in lines})  # each file exactly once
    assert pending == 0
    check_nothing_false(home, after_rerun=True)


def kill_points(total: int, trials: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return sorted(rng.sample(range(1, total + 1), min(trials, total)))


def spread_kill_points(total: int, trials: int, seed: int) -> list[int]:
    """One random point in each of ``trials`` equal stretches of the ingest's durable writes,
    so that a short trial still kills it early (the first copy), midway (the catalogue and
    the custody log) and late (the derivatives, the last renames)."""
    rng = random.Random(seed)
    edges = [1 + total * i // trials for i in range(trials + 1)]
    return [rng.randrange(low, max(low + 1, high)) for low, high in itertools.pairwise(edges)]


def test_random_kills_across_the_ingest(fast_tmp: Path, setup: tuple[Path, Path, int, Path]) -> None:
    """The default run's trial: six kills, one in each sixth of the ingest (``-m slow`` has
    the twenty and fifty kill trials)."""
    card, lib, total, template = setup
    assert total > 50, "the shim counted too few durable writes; is LD_PRELOAD working?"
    points = spread_kill_points(total, 6, SEED + 2)
    assert len(set(points)) == 6 and points[0] <= total // 6 < total * 5 // 6 < points[-1]
    for kill_at in points:
        crash_trial(fast_tmp, card, lib, template, kill_at)


@pytest.mark.slow
def test_twenty_random_kills(fast_tmp: Path, setup: tuple[Path, Path, int, Path]) -> None:
    card, lib, total, template = setup
    assert total > 50, "the shim counted too few durable writes; is LD_PRELOAD working?"
    for kill_at in kill_points(total, 20, SEED):
        crash_trial(fast_tmp, card, lib, template, kill_at)


@pytest.mark.slow
def test_fifty_random_kills(fast_tmp: Path, setup: tuple[Path, Path, int, Path]) -> None:
    card, lib, total, template = setup
    for kill_at in kill_points(total, 50, SEED + 1):
        crash_trial(fast_tmp, card, lib, template, kill_at)
