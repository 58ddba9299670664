"""The API's cached grouping of recordings follows the catalogue as segments arrive."""

from __future__ import annotations

import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

from api.home import init_home
from api.settings import Settings
from cases.recordings import all_recordings
from ingest.pipeline import IngestOptions, Ingestor
from ingest.synthetic import make_recorder_image


def test_a_new_segment_shows_in_the_cached_recordings(tmp_path: Path) -> None:
    roles = make_recorder_image(tmp_path / "template")
    home, _ = init_home(Settings(home=tmp_path / "home"))
    options = IngestOptions(station_tz=ZoneInfo("Asia/Shanghai"))

    def ingest(*names: str) -> None:
        card = tmp_path / f"card-{len(names)}-{names[0]}"
        card.mkdir()
        for name in names:
            shutil.copy(roles[name], card)
        ingestor = Ingestor(home.custody_log(), home.object_store(), options)
        try:
            assert {r.status for r in ingestor.ingest(card)} == {"ingested"}
        finally:
            ingestor.close()

    ingest("segment_1")
    with home.engine().connect() as conn:
        first = all_recordings(conn)
        assert all_recordings(conn) is first  # unchanged catalogue: served from the cache
    assert [len(r.segments) for r in first] == [1]
    ingest("segment_2", "segment_3")
    with home.engine().connect() as conn:
        again = all_recordings(conn)
    assert [len(r.segments) for r in again] == [3]
    assert [g.microseconds for g in again[0].gaps] == [4_000_000]
