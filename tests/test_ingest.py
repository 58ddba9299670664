"""`evidence ingest` on a generated recorder image: every file ends as the rules say."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from api.home import open_home
from api.settings import Settings
from ingest.synthetic import make_recorder_image
from storage import catalog
from storage.objects import original_key
from tests.cli_helpers import build_fsfault, run_cli

TZ = {"EVIDENCE_STATION_TZ": "Asia/Shanghai"}


@pytest.fixture(scope="session")
def fsfault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fsfault(tmp_path_factory.mktemp("fsfault"))


@pytest.fixture(scope="session")
def card_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("card-template")
    return root, make_recorder_image(root)


@pytest.fixture
def card(tmp_path: Path, card_template: tuple[Path, dict[str, Path]]) -> tuple[Path, dict[str, str]]:
    """A fresh copy of the card, plus files for the fault cases and a link outside it."""
    template, roles = card_template
    root = tmp_path / "card"
    shutil.copytree(template, root, symlinks=True)
    rel = {role: path.relative_to(template).as_posix() for role, path in roles.items()}
    media = root / Path(rel["segment_1"]).parent
    for name in ("GROW0001.MP4", "YANK0001.MP4", "DENY0001.MP4"):
        shutil.copy(root / rel["segment_1"], media / name)
        rel[name] = (media / name).relative_to(root).as_posix()
    # make the three copies distinct content (they would otherwise be duplicates)
    for i, name in enumerate(("GROW0001.MP4", "YANK0001.MP4", "DENY0001.MP4")):
        with (media / name).open("ab") as f:
            f.write(bytes([i]) * 100_000)
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("not evidence")
    (media / "LINK0001.MP4").symlink_to(outside)
    rel["link"] = (media / "LINK0001.MP4").relative_to(root).as_posix()
    return root, rel


def ingest_json(home: Path, card: Path,
                env: dict[str, str] | None = None) -> tuple[int, dict[str, dict[str, object]]]:
    result = run_cli(home, "ingest", str(card), "--json", env={**TZ, **(env or {})})
    assert "Traceback" not in result.stderr, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    by_path = {line["path"]: line for line in lines}
    assert len(by_path) == len(lines), "a file was reported twice"
    return result.returncode, by_path


def test_recorder_image_ends_as_the_rules_say(tmp_path: Path, card: tuple[Path, dict[str, str]],
                                              fsfault: Path) -> None:
    root, rel = card
    home = tmp_path / "home"
    assert run_cli(home, "init").returncode == 0
    faults = {"LD_PRELOAD": str(fsfault), "FSFAULT_EIO": "YANK0001.MP4:30000",
              "FSFAULT_GROW": "GROW0001.MP4", "FSFAULT_DENY": "DENY0001.MP4"}
    code, out = ingest_json(home, root, faults)
    assert code == 1  # failures were found, and reported
    status = {path: line["status"] for path, line in out.items()}
    reason = {path: str(line["reason"]) for path, line in out.items()}

    for role in ("segment_1", "segment_2", "segment_3", "avi", "hevc_mov", "photo", "wav",
                 "cjk_name", "truncated_mp4", "zero_byte"):
        assert status[rel[role]] == "ingested", (role, out[rel[role]])
    assert "zero_byte" in reason[rel["zero_byte"]]
    assert "unplayable" in reason[rel["truncated_mp4"]]
    assert "moov" in reason[rel["truncated_mp4"]].lower() or "index" in reason[rel["truncated_mp4"]]
    for junk in ("junk_system_volume_information", "junk_appledouble", "junk_thumbs_db",
                 "junk_trashes"):
        assert status[rel[junk]] == "skipped" and "operating-system" in reason[rel[junk]]
    assert status[rel["link"]] == "skipped" and "symbolic link" in reason[rel["link"]]
    assert status[rel["GROW0001.MP4"]] == "skipped" and "still being written" in reason[rel["GROW0001.MP4"]]
    assert status[rel["YANK0001.MP4"]] == "failed" and "unplugged" in reason[rel["YANK0001.MP4"]]
    assert status[rel["DENY0001.MP4"]] == "failed" and "cannot open" in reason[rel["DENY0001.MP4"]]

    # originals are kept bit for bit, under their content address
    store = open_home(Settings(home=home)).object_store()
    for role in ("segment_1", "truncated_mp4", "cjk_name", "photo"):
        source = (root / rel[role]).read_bytes()
        sha = out[rel[role]]["sha256"]
        with store.open(original_key(str(sha))) as reader:
            assert b"".join(reader) == source
    # transcode vs remux, and the file names and times that were recorded
    engine = open_home(Settings(home=home)).engine()
    with engine.connect() as conn:
        methods = {(r.original_name, r.name): r.method for r in conn.execute(
            catalog.derivatives.join(catalog.evidence).select()
            .with_only_columns(catalog.evidence.c.original_name, catalog.derivatives.c.name,
                               catalog.derivatives.c.method))}
        names = {r.original_name: r for r in conn.execute(catalog.evidence.select())}
    assert methods[(Path(rel["segment_1"]).name, "playback.mp4")] == "remux"
    assert methods[(Path(rel["avi"]).name, "playback.mp4")] == "transcode"
    assert methods[(Path(rel["hevc_mov"]).name, "playback.mp4")] == "transcode"
    assert (Path(rel["photo"]).name, "poster.jpg") in methods
    assert names[Path(rel["photo"]).name].time_source == "exif"
    assert names[Path(rel["segment_1"]).name].device_serial == "ZFY0001"
    assert "执法记录_测试.mp4" in names
    assert not any(str(p).startswith("outside") for p in names)

    verify = run_cli(home, "verify", "--objects", "--json")
    assert verify.returncode == 0, verify.stdout
    assert not store.temporaries()

    # docked again with the fault gone: the rest comes in, nothing twice
    code, again = ingest_json(home, root)
    assert code == 0
    for path, line in again.items():
        if path in (rel["GROW0001.MP4"], rel["YANK0001.MP4"], rel["DENY0001.MP4"]):
            assert line["status"] == "ingested", line
        elif out[path]["status"] == "ingested":
            assert line["status"] == "duplicate"
            assert line["evidence_id"] == out[path]["evidence_id"]

    recordings = [json.loads(x) for x in run_cli(home, "recordings", "--json").stdout.splitlines()]
    zfy = [r for r in recordings if r["device"] == "ZFY0001"]
    assert any(g["seconds"] == 4 for r in zfy for g in r["gaps"]), zfy


def test_verify_objects_catches_altered_and_missing_objects(
        tmp_path: Path, card_template: tuple[Path, dict[str, Path]]) -> None:
    _, roles = card_template
    card = tmp_path / "small"
    card.mkdir()
    shutil.copy(roles["segment_1"], card)
    shutil.copy(roles["photo"], card)
    home = tmp_path / "home"
    run_cli(home, "init")
    code, _ = ingest_json(home, card)
    assert code == 0
    objects = open_home(Settings(home=home)).objects / "objects"
    files = sorted(p for p in objects.rglob("*") if p.is_file())
    originals = [p for p in files if "originals" in p.as_posix()]
    derived = [p for p in files if "derivatives" in p.as_posix() and p.name == "playback.mp4"]
    assert originals and derived

    def flip(path: Path) -> None:
        os.chmod(path, 0o644)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))

    flip(originals[0])
    flip(derived[0])
    report = json.loads(run_cli(home, "verify", "--objects", "--json").stdout)
    mismatched = [p for p in report["problems"] if p["kind"] == "object_mismatch"]
    assert len(mismatched) == 2, report["problems"]
    os.chmod(originals[1], 0o644)
    originals[1].unlink()
    result = run_cli(home, "verify", "--objects", "--json")
    assert result.returncode == 1
    assert "missing_object" in {p["kind"] for p in json.loads(result.stdout)["problems"]}


def test_a_recording_plays_as_one_continuous_file_and_the_export_is_logged(
        tmp_path: Path, card_template: tuple[Path, dict[str, Path]]) -> None:
    from media.probe import probe

    _, roles = card_template
    card = tmp_path / "segments"
    card.mkdir()
    for role in ("segment_1", "segment_2", "segment_3"):
        shutil.copy(roles[role], card)
    home = tmp_path / "home"
    run_cli(home, "init")
    assert ingest_json(home, card)[0] == 0
    recording = json.loads(run_cli(home, "recordings", "--json").stdout.splitlines()[0])
    assert len(recording["segments"]) == 3 and recording["gaps"][0]["seconds"] == 4
    joined = tmp_path / "recording.mp4"
    result = run_cli(home, "recordings", "--join", recording["id"], "--out", str(joined),
                     "--reason", "case review")
    assert result.returncode == 0, result.stderr
    # three 3 s segments and the 4 s gap, filled with black: time in the file is wall-clock time
    assert abs((probe(joined).duration_ms or 0) - 13000) < 500
    events = [json.loads(x) for x in run_cli(home, "log", "show").stdout.splitlines()]
    exported = [e for e in events if e["type"] == "evidence:recording:exported"]
    assert len(exported) == 3 and exported[0]["details"]["gaps"][0]["milliseconds"] == 4000
