"""Hostile volumes: folders swapped for links mid-walk, names that are not UTF-8, files that raise."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from api.home import Home, open_home
from api.settings import Settings
from custody.events import decode_event
from custody.verify import verify_database
from devices.mass_storage import MassStorageRecorder
from domain.event_types import EventType
from domain.recorder import RecorderFile, RecorderIdentity
from ingest import originals, pipeline
from ingest.fixity import ObjectCollector, check_objects
from ingest.pipeline import FileResult, IngestOptions, Ingestor, Progress
from ingest.station import DockPolicy, Station
from storage import records
from storage.objects import original_key
from tests.cli_helpers import run_cli

SECRET = b"-----BEGIN SIGNING KEY----- the log's key, never evidence " * 100
GBK_NAME = "执法记录仪_录像".encode("gbk") + b".MP4"
GBK_FOLDER = "视频".encode("gbk")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    root = tmp_path / "home"
    assert run_cli(root, "init").returncode == 0
    opened = open_home(Settings(home=root))
    yield opened
    opened.engine().dispose()


class Hook(Progress):
    """Runs ``action`` once, when ``when(event, rel)`` first says so (the test's chosen point)."""

    def __init__(self, when: Callable[[str, str], bool], action: Callable[[], None]) -> None:
        self.when, self.action, self.done, self.current = when, action, False, ""

    def _maybe(self, event: str) -> None:
        if not self.done and self.when(event, self.current):
            self.done = True
            self.action()

    def file_started(self, rel: str, size: int) -> None:
        self.current = rel
        self._maybe("started")

    def advanced(self, nbytes: int) -> None:
        self._maybe("advanced")


def ingest(home: Home, card: Path, progress: Progress | None = None) -> dict[str, FileResult]:
    ingestor = Ingestor(home.custody_log(), home.object_store(), IngestOptions(derive=False), progress)
    try:
        return {r.path: r for r in ingestor.ingest(card)}
    finally:
        ingestor.close()


def stored(home: Home, data: bytes) -> bool:
    return home.object_store().exists(original_key(hashlib.sha256(data).hexdigest()))


def problems(home: Home) -> set[str]:
    collector = ObjectCollector()
    report = verify_database(home.engine(), home.verifier(), home.origin, visit=collector)
    check_objects(home.object_store(), collector, report)
    return {p.kind for p in report.problems}


def swap_for_link(folder: Path, target: Path) -> Callable[[], None]:
    def swap() -> None:
        folder.rename(folder.with_name(folder.name + ".moved"))
        folder.symlink_to(target, target_is_directory=True)
    return swap


def hostile_card(tmp_path: Path) -> tuple[Path, Path]:
    card, outside = tmp_path / "card", tmp_path / "outside"
    (card / "DCIM" / "B").mkdir(parents=True)
    (card / "DCIM" / "0BIG0001.MP4").write_bytes(os.urandom(9 * 1024 * 1024))  # more than one chunk
    (card / "DCIM" / "B" / "CLIP0001.MP4").write_bytes(b"innocent footage" * 100)
    (outside / "B").mkdir(parents=True)
    (outside / "B" / "CLIP0001.MP4").write_bytes(SECRET)
    (outside / "DCIM" / "B").mkdir(parents=True)
    (outside / "DCIM" / "B" / "CLIP0001.MP4").write_bytes(SECRET)
    return card, outside


def test_a_folder_swapped_for_a_link_while_an_earlier_file_copies_is_never_read_through(
        tmp_path: Path, home: Home) -> None:
    card, outside = hostile_card(tmp_path)
    # while the large file in DCIM is copying, DCIM becomes a link to a folder holding a secret
    hook = Hook(lambda event, rel: event == "advanced" and rel.endswith("0BIG0001.MP4"),
                swap_for_link(card / "DCIM", outside))
    results = ingest(home, card, hook)
    assert hook.done
    assert not stored(home, SECRET)
    assert results["DCIM/0BIG0001.MP4"].status == "ingested"
    assert results["DCIM/B/CLIP0001.MP4"].status == "failed"
    assert "replaced" in str(results["DCIM/B/CLIP0001.MP4"].reason)


@pytest.mark.parametrize("replacement", ["link", "folder"])
def test_a_folder_swapped_between_the_walk_and_the_open_is_never_read(
        tmp_path: Path, home: Home, replacement: str) -> None:
    card, outside = hostile_card(tmp_path)
    folder = card / "DCIM" / "B"

    def swap() -> None:
        if replacement == "link":
            swap_for_link(folder, outside / "B")()
        else:  # a real folder moved in from outside: only its identity (fstat) tells it apart
            folder.rename(folder.with_name("B.moved"))
            (outside / "B").rename(folder)

    # the walk has checked the folder and found the file; the file is about to be opened
    hook = Hook(lambda event, rel: event == "started" and rel.endswith("CLIP0001.MP4"), swap)
    results = ingest(home, card, hook)
    assert hook.done
    assert not stored(home, SECRET)
    assert results["DCIM/B/CLIP0001.MP4"].status == "failed"
    assert "replaced" in str(results["DCIM/B/CLIP0001.MP4"].reason)


def gbk_card(card: Path, content: bytes) -> bytes:
    """A card whose folder and file names are GBK bytes; returns the file's path bytes."""
    folder = os.fsencode(card) + b"/" + GBK_FOLDER
    os.makedirs(folder)
    with open(folder + b"/" + GBK_NAME, "wb") as f:
        f.write(content)
    return GBK_FOLDER + b"/" + GBK_NAME


def ingested_events(home: Home) -> list[dict[str, object]]:
    events = [decode_event(leaf) for _, leaf in home.custody_log().entries()]
    return [e["details"] for e in events if e["type"] == EventType.FILE_INGESTED]


def test_names_that_are_not_utf8_are_ingested_keeping_their_bytes(tmp_path: Path, home: Home) -> None:
    card = tmp_path / "card"
    raw = gbk_card(card, b"gbk named footage" * 100)
    result = run_cli(home.root, "ingest", str(card), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["status"] == "ingested"
    assert line["path"] == "视频/执法记录仪_录像.MP4"  # shown decoded as GB18030
    assert base64.b64decode(line["path_b64"]) == raw
    [details] = ingested_events(home)
    assert details["source"] == "视频/执法记录仪_录像.MP4"
    assert details["original_name"] == "执法记录仪_录像.MP4"
    assert base64.b64decode(str(details["source_b64"])) == raw
    assert base64.b64decode(str(details["original_name_b64"])) == GBK_NAME
    assert problems(home) == set()  # no orphaned object
    assert run_cli(home.root, "verify", "--objects").returncode == 0


def test_the_dock_docks_and_redocks_a_recorder_with_names_that_are_not_utf8(
        tmp_path: Path, home: Home) -> None:
    mount = tmp_path / "media"
    raw = gbk_card(mount / "REC1", b"docked gbk footage" * 100)
    for attempt in ("ingested", "duplicate"):  # a re-dock works the same way
        result = run_cli(home.root, "dock", "--watch", str(mount), "--once", "--no-udev", "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        files = [json.loads(x) for x in result.stdout.splitlines()]
        [line] = [f for f in files if f.get("event") == "file"]
        assert line["status"] == attempt, line
        assert base64.b64decode(line["path_b64"]) == raw
    [details] = ingested_events(home)
    assert base64.b64decode(str(details["source_b64"])) == raw
    assert problems(home) == set()


def test_one_file_that_raises_never_ends_the_run_and_its_stored_object_is_reported_then_recorded(
        tmp_path: Path, home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    card = tmp_path / "card"
    card.mkdir()
    for name in ("A0001.MP4", "B0001.MP4", "C0001.MP4", "D0001.MP4"):
        (card / name).write_bytes(name.encode() * 500)
    real_record, real_copy = records.record_original, originals.copy_original

    def record(log: object, stored: object, prov: object, *args: object, **kwargs: object) -> object:
        if getattr(prov, "source", "") == "B0001.MP4":
            raise RuntimeError("a bug no one foresaw, after the object was stored")
        return real_record(log, stored, prov, *args, **kwargs)  # type: ignore[arg-type]

    def copy(item: object, *args: object, **kwargs: object) -> object:
        if getattr(item, "rel", "") == "C0001.MP4":
            raise ValueError("a bug while copying")
        return real_copy(item, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "record_original", record)
    monkeypatch.setattr(pipeline, "copy_original", copy)
    results = ingest(home, card)
    assert {p: r.status for p, r in results.items()} == {
        "A0001.MP4": "ingested", "B0001.MP4": "failed", "C0001.MP4": "failed", "D0001.MP4": "ingested"}
    assert "RuntimeError" in str(results["B0001.MP4"].reason)
    assert "ValueError" in str(results["C0001.MP4"].reason)
    # B's object is stored but no event names it: verify --objects says so
    assert stored(home, b"B0001.MP4" * 500)
    assert problems(home) == {"unrecorded_object"}
    verify = run_cli(home.root, "verify", "--objects", "--json")
    assert verify.returncode == 1 and "unrecorded_object" in verify.stdout
    monkeypatch.undo()
    again = ingest(home, card)  # the next run records it
    assert again["B0001.MP4"].status == "ingested" and again["C0001.MP4"].status == "ingested"
    assert problems(home) == set()


def logged_details(home: Home, kind: EventType) -> list[dict[str, object]]:
    events = [decode_event(leaf) for _, leaf in home.custody_log().entries()]
    return [e["details"] for e in events if e["type"] == kind]


def test_the_dock_wipes_files_whose_names_are_not_utf8_and_logs_their_exact_bytes(
        tmp_path: Path, home: Home) -> None:
    mount = tmp_path / "media"
    raw = gbk_card(mount / "REC1", b"wiped gbk footage" * 100)
    result = run_cli(home.root, "dock", "--watch", str(mount), "--once", "--no-udev", "--wipe",
                     "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    [wiped_line] = [x for x in lines if x.get("event") == "wiped"]
    assert wiped_line["path"] == "视频/执法记录仪_录像.MP4"
    assert base64.b64decode(wiped_line["path_b64"]) == raw
    # the recorder's folder holds nothing any more (its GBK-named folder is left, empty)
    assert [f for _, _, files in os.walk(os.fsencode(mount / "REC1")) for f in files] == []
    [details] = logged_details(home, EventType.FILE_WIPED)
    assert details["source"] == "视频/执法记录仪_录像.MP4"
    assert base64.b64decode(str(details["source_b64"])) == raw
    assert problems(home) == set()


class SwapBeforeOpen:
    """A mass-storage recorder whose chosen file's folder is swapped just before it is opened:
    after the dock listed the volume, at the point the test chooses."""

    def __init__(self, inner: MassStorageRecorder, victim: str, swap: Callable[[], None]) -> None:
        self.inner, self.victim, self.swap, self.done = inner, victim, swap, False

    def identity(self) -> RecorderIdentity:
        return self.inner.identity()

    def list_files(self) -> list[RecorderFile]:
        return self.inner.list_files()

    def open(self, path: str) -> BinaryIO:
        if path == self.victim and not self.done:
            self.done = True
            self.swap()
        return self.inner.open(path)

    def delete(self, path: str) -> None:
        self.inner.delete(path)

    def eject(self) -> None:
        self.inner.eject()

    def volume_root(self) -> Path | None:
        return self.inner.volume_root()


@pytest.mark.parametrize("replacement", ["link", "folder"])
def test_the_dock_never_reads_a_folder_swapped_between_its_listing_and_the_open(
        tmp_path: Path, home: Home, replacement: str) -> None:
    card, outside = hostile_card(tmp_path)
    folder = card / "DCIM" / "B"
    # the secret looks exactly like the clip the listing saw: same size, same time
    innocent = folder / "CLIP0001.MP4"
    secret = (SECRET * 2)[:innocent.stat().st_size]
    (outside / "B" / "CLIP0001.MP4").write_bytes(secret)
    os.utime(outside / "B" / "CLIP0001.MP4", ns=(innocent.stat().st_atime_ns,
                                                 innocent.stat().st_mtime_ns))

    def swap() -> None:
        if replacement == "link":
            swap_for_link(folder, outside / "B")()
        else:  # a real folder moved in: only its identity (fstat) tells it apart
            folder.rename(folder.with_name("B.moved"))
            (outside / "B").rename(folder)

    recorder = SwapBeforeOpen(MassStorageRecorder(card), "DCIM/B/CLIP0001.MP4", swap)
    station = Station(home.custody_log(), home.object_store(), IngestOptions(derive=False),
                      DockPolicy(wipe=True))
    outcome = station.dock(recorder, "REC1")
    assert recorder.done
    assert not stored(home, secret)
    assert outcome.results["DCIM/0BIG0001.MP4"].status == "ingested"
    victim = outcome.results["DCIM/B/CLIP0001.MP4"]
    assert victim.status == "failed" and not outcome.complete
    assert "replaced" in str(victim.reason) or "symbolic link" in str(victim.reason)
    assert (folder / "CLIP0001.MP4").read_bytes() == secret  # what was swapped in: never wiped
    assert problems(home) == set()


def orphan_lines(home: Home, *args: str) -> tuple[int, list[dict[str, object]], str]:
    result = run_cli(home.root, "orphans", *args, "--json")
    return (result.returncode, [json.loads(x) for x in result.stdout.splitlines()],
            result.stdout + result.stderr)


def test_an_unrecorded_original_whose_file_never_comes_again_is_recorded_as_an_orphan(
        tmp_path: Path, home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    card = tmp_path / "card"
    card.mkdir()
    for name in ("A0001.MP4", "B0001.MP4", "C0001.MP4"):
        (card / name).write_bytes(name.encode() * 500)
    real_record = records.record_original

    def record(log: object, stored: object, prov: object, *args: object, **kwargs: object) -> object:
        if getattr(prov, "source", "") in ("B0001.MP4", "C0001.MP4"):
            raise RuntimeError("a bug no one foresaw, after the object was stored")
        return real_record(log, stored, prov, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "record_original", record)
    ingest(home, card)
    monkeypatch.undo()
    b_sha, c_sha = (hashlib.sha256(n.encode() * 500).hexdigest() for n in ("B0001.MP4", "C0001.MP4"))
    # the card is lost: B and C never come again; verify says what to do
    verify = run_cli(home.root, "verify", "--objects", "--json")
    assert verify.returncode == 1
    unrecorded = [p for p in json.loads(verify.stdout)["problems"] if p["kind"] == "unrecorded_object"]
    assert len(unrecorded) == 2 and all("evidence orphans" in p["message"] for p in unrecorded)
    code, listed, _ = orphan_lines(home)
    assert code == 1 and {(x["key"], x["status"]) for x in listed} == {
        (original_key(b_sha), "unrecorded"), (original_key(c_sha), "unrecorded")}
    # recording one needs a reason; nothing is recorded without it
    missing = run_cli(home.root, "orphans", "--record")
    assert missing.returncode == 2 and "--reason" in missing.stderr
    # C's stored bytes were altered: it is refused, not accounted for as if intact
    altered = home.objects / "objects" / original_key(c_sha)  # the local store's file
    altered.chmod(0o600)
    altered.write_bytes(b"altered" * 10)
    code, recorded, out = orphan_lines(home, "--record", "--reason", "the card was lost")
    assert code == 1, out
    by_key = {x["key"]: x for x in recorded}
    assert by_key[original_key(b_sha)]["status"] == "recorded"
    assert by_key[original_key(b_sha)]["size"] == len(b"B0001.MP4" * 500)
    assert by_key[original_key(c_sha)]["status"] == "refused"
    assert "altered" in str(by_key[original_key(c_sha)]["reason"])
    [event] = [decode_event(leaf) for _, leaf in home.custody_log().entries()
               if decode_event(leaf)["type"] == EventType.OBJECT_ORPHANED]
    assert event["subject"] is None and event["actor"].startswith("cli:")
    assert event["details"]["object"]["key"] == original_key(b_sha)
    assert event["details"]["object"]["sha256"] == b_sha
    assert event["details"]["reason"] == "the card was lost"
    # B is accounted for: verify reports only C, which stays unexplained (and altered)
    assert problems(home) == {"unrecorded_object"}
    code, listed, _ = orphan_lines(home)
    assert [x["key"] for x in listed] == [original_key(c_sha)]
    # if B's file does come again after all, it is ingested as usual
    altered.write_bytes(b"C0001.MP4" * 500)
    again = ingest(home, card)
    assert again["B0001.MP4"].status == "ingested" and again["C0001.MP4"].status == "ingested"
    assert problems(home) == set()
    assert run_cli(home.root, "verify", "--objects").returncode == 0
    code, listed, _ = orphan_lines(home)
    assert code == 0 and listed == []
