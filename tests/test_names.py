"""parse_name() and resolve_start_time(): patterns, precedence, clock offset, real files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import MediaError
from ingest.synthetic import gat_name, make_recorder_image
from media.names import NameInfo, parse_name, resolve_start_time
from media.probe import MediaInfo, probe

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
MTIME = datetime(2024, 3, 15, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        (
            "ZFY0001_100234_20240315093000_0001.MP4",
            NameInfo("gat947", "ZFY0001", "100234", datetime(2024, 3, 15, 9, 30), 1),
        ),
        (
            "/media/card/DCIM/A1B2C3D_000001_20231231235959_12.mp4",
            NameInfo("gat947", "A1B2C3D", "000001", datetime(2023, 12, 31, 23, 59, 59), 12),
        ),
        (
            "C:\\cards\\ZFY0001_100234_20240315093000_0007.wav",
            NameInfo("gat947", "ZFY0001", "100234", datetime(2024, 3, 15, 9, 30), 7),
        ),
        ("VID_20240101_120000.mp4", NameInfo("phone", None, None, datetime(2024, 1, 1, 12), None)),
        ("IMG_20240101_120000.jpg", NameInfo("phone", None, None, datetime(2024, 1, 1, 12), None)),
        ("vid_20240101_120000.MP4", NameInfo("phone", None, None, datetime(2024, 1, 1, 12), None)),
        (
            "IMG_20240101_120000_HDR.jpg",
            NameInfo("phone", None, None, datetime(2024, 1, 1, 12), None),
        ),
        (
            "PXL_20240101_120000123.mp4",
            NameInfo("phone", None, None, datetime(2024, 1, 1, 12), None),
        ),
        (
            "20240101_120000.MP4",
            NameInfo("date_time", None, None, datetime(2024, 1, 1, 12), None),
        ),
        (
            "2024_0101_120000_001.MP4",
            NameInfo("dashcam", None, None, datetime(2024, 1, 1, 12), 1),
        ),
        (
            "2024_0101_120000_0042F.MP4",
            NameInfo("dashcam", None, None, datetime(2024, 1, 1, 12), 42),
        ),
        ("REC0001.MP4", NameInfo("counter", None, None, None, 1)),
        ("MOVI0012.AVI", NameInfo("counter", None, None, None, 12)),
        ("DSC_0003.JPG", NameInfo("counter", None, None, None, 3)),
    ],
)
def test_known_patterns(filename: str, expected: NameInfo) -> None:
    assert parse_name(filename) == expected


@pytest.mark.parametrize(
    "filename",
    ["执法记录_测试.mp4", "Thumbs.db", "._VID.MP4", "", ".", "notes.txt", "VID_20240101.mp4", "1.mp4"],
)
def test_unknown_names(filename: str) -> None:
    assert parse_name(filename) is None


def test_impossible_date_keeps_the_recorder_fields() -> None:
    info = parse_name("ZFY0001_100234_20241341256199_0003.MP4")
    assert info == NameInfo("gat947", "ZFY0001", "100234", None, 3)
    assert parse_name("VID_20240231_120000.mp4") == NameInfo("phone", None, None, None, None)


serials = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefz", min_size=1, max_size=32)
officers = st.text(alphabet="0123456789", min_size=1, max_size=12)
starts = st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda moment: moment.replace(microsecond=0)
)


@given(serials, officers, starts, st.integers(0, 99_999_999), st.sampled_from(["MP4", "jpg", ""]))
def test_gat947_round_trip(serial: str, officer: str, start: datetime, sequence: int, extension: str) -> None:
    name = f"{serial}_{officer}_{start:%Y%m%d%H%M%S}_{sequence:04d}"
    if extension:
        name += f".{extension}"
    assert parse_name(name) == NameInfo("gat947", serial, officer, start, sequence)


@given(st.text(max_size=80))
def test_garbage_never_raises(filename: str) -> None:
    info = parse_name(filename)
    assert info is None or isinstance(info, NameInfo)


def _media(
    *,
    creation_time: datetime | None = None,
    exif: datetime | None = None,
    duration_ms: int | None = 3000,
) -> MediaInfo:
    return MediaInfo(
        kind="image" if exif else "video",
        container="mov,mp4,m4a,3gp,3g2,mj2",
        video_codec="h264",
        audio_codec=None,
        duration_ms=duration_ms,
        width=320,
        height=240,
        creation_time=creation_time,
        exif_datetime_original=exif,
    )


GAT = parse_name("ZFY0001_100234_20240315093000_0001.MP4")
HEADER_TIME = datetime(2024, 3, 15, 1, 29, 0, tzinfo=UTC)  # disagrees with the name


def test_exif_beats_filename_and_header() -> None:
    media = _media(creation_time=HEADER_TIME, exif=datetime(2024, 3, 15, 9, 31))
    assert resolve_start_time(GAT, media, MTIME, 0, SHANGHAI) == (
        datetime(2024, 3, 15, 1, 31, tzinfo=UTC),
        "exif",
    )


def test_exif_with_its_own_offset_ignores_station_zone() -> None:
    exif = datetime(2024, 3, 15, 9, 31, tzinfo=timezone(timedelta(hours=9)))
    start, source = resolve_start_time(None, _media(exif=exif), MTIME, 0, BERLIN)
    assert (start, source) == (datetime(2024, 3, 15, 0, 31, tzinfo=UTC), "exif")


def test_filename_beats_container_header() -> None:
    media = _media(creation_time=HEADER_TIME)
    assert resolve_start_time(GAT, media, MTIME, 0, SHANGHAI) == (
        datetime(2024, 3, 15, 1, 30, tzinfo=UTC),
        "filename",
    )


def test_container_header_when_name_has_no_time() -> None:
    counter_name = parse_name("REC0001.MP4")
    media = _media(creation_time=HEADER_TIME)
    assert resolve_start_time(counter_name, media, MTIME, 0, SHANGHAI) == (HEADER_TIME, "container")


def test_mtime_is_the_end_so_duration_is_subtracted() -> None:
    start, source = resolve_start_time(None, _media(duration_ms=600_000), MTIME, 0, SHANGHAI)
    assert (start, source) == (MTIME - timedelta(minutes=10), "file_mtime")
    start, source = resolve_start_time(None, None, MTIME, 0, SHANGHAI)
    assert (start, source) == (MTIME, "file_mtime")


@pytest.mark.parametrize("offset_seconds", [-3600, -5, 0, 7, 86_400])
def test_clock_offset_is_device_minus_true_for_every_source(offset_seconds: int) -> None:
    offset = timedelta(seconds=offset_seconds)
    cases = [
        (None, _media(exif=datetime(2024, 3, 15, 9, 31)), "exif"),
        (GAT, _media(), "filename"),
        (None, _media(creation_time=HEADER_TIME), "container"),
        (None, _media(), "file_mtime"),
    ]
    for name, media, expected_source in cases:
        unadjusted, _ = resolve_start_time(name, media, MTIME, 0, SHANGHAI)
        adjusted, source = resolve_start_time(name, media, MTIME, offset_seconds, SHANGHAI)
        assert source == expected_source
        # A fast device (positive offset) reads late, so the true time is earlier.
        assert adjusted == unadjusted - offset


def test_names_are_read_in_the_station_zone_across_dst() -> None:
    winter = parse_name("ZFY0001_100234_20240115120000_0001.MP4")
    summer = parse_name("ZFY0001_100234_20240715120000_0001.MP4")
    assert resolve_start_time(winter, None, MTIME, 0, BERLIN)[0].hour == 11
    assert resolve_start_time(summer, None, MTIME, 0, BERLIN)[0].hour == 10


def test_naive_mtime_is_refused() -> None:
    with pytest.raises(MediaError, match="no time zone"):
        resolve_start_time(None, None, datetime(2024, 3, 15, 2, 0), 0, SHANGHAI)


def test_gat_name_helper_matches_the_parser() -> None:
    name = gat_name("ZFY0001", "100234", datetime(2024, 3, 15, 9, 30), 3, "MP4")
    assert parse_name(name) == NameInfo("gat947", "ZFY0001", "100234", datetime(2024, 3, 15, 9, 30), 3)


def test_real_card_files_resolve_from_the_right_source(tmp_path: Path) -> None:
    card = make_recorder_image(tmp_path)
    expected = {
        "segment_2": (datetime(2024, 3, 15, 1, 30, 3, tzinfo=UTC), "filename"),
        "photo": (datetime(2024, 3, 15, 1, 32, tzinfo=UTC), "exif"),
        "wav": (datetime(2024, 3, 15, 1, 30, tzinfo=UTC), "filename"),
        "hevc_mov": (datetime(2024, 3, 15, 1, 35, tzinfo=UTC), "filename"),
        # No usable name: the MP4 header (UTC) is next.
        "cjk_name": (datetime(2024, 3, 15, 1, 30, tzinfo=UTC), "container"),
    }
    for role, wanted in expected.items():
        path = card[role]
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        got = resolve_start_time(parse_name(path.name), probe(path), mtime, 0, SHANGHAI)
        assert got == wanted, role


NAME_PARTS = st.text(alphabet="AZaz09_-.", min_size=0, max_size=12)


@given(serial=NAME_PARTS, officer=NAME_PARTS, stamp=NAME_PARTS, seq=NAME_PARTS,
       folder=st.sampled_from(["", "DCIM/", "C:\\cards\\", "/media/card/"]),
       ext=st.sampled_from(["", ".MP4", ".jpg", ".tar.gz"]))
def test_the_recorder_adapters_read_owners_exactly_as_media_names_parses_them(
        serial: str, officer: str, stamp: str, seq: str, folder: str, ext: str) -> None:
    from devices.names import NamedOwner, owner_from_name

    for filename in (f"{folder}{serial}_{officer}_{stamp}_{seq}{ext}",
                     f"{folder}ZFY{serial}_1{officer}_20240315093000_1{ext}"):
        parsed = parse_name(filename)
        expected = (NamedOwner(parsed.device_serial, parsed.officer_no)
                    if parsed and parsed.pattern == "gat947" and parsed.device_serial
                    and parsed.officer_no else None)
        assert owner_from_name(filename) == expected


def test_devices_find_the_owner_in_a_gat947_name_and_nothing_in_other_names() -> None:
    from devices.names import NamedOwner, likely_owner, owner_from_name

    assert owner_from_name("DCIM\\ZFY0001_100234_20240315093000_0001.MP4") == \
        NamedOwner("ZFY0001", "100234")
    assert owner_from_name("VID_20240101_120000.mp4") is None
    assert owner_from_name("ZFY0001_10023A_20240315093000_0001.MP4") is None
    assert likely_owner(["ZFY0001_100234_20240315093000_0001.MP4", "REC0001.MP4",
                         "ZFY0002_100999_20240315093000_0001.MP4",
                         "ZFY0002_100999_20240315094000_0002.MP4"]) == NamedOwner("ZFY0002", "100999")


def test_the_gat947_name_pattern_is_written_once() -> None:
    """One regular expression reads GA/T 947 names: a second copy would drift from it."""
    root = Path(__file__).parents[1]
    packages = ["domain", "custody", "storage", "media", "devices", "ingest", "cases", "api"]
    holders = sorted(str(path.relative_to(root)) for package in packages
                     for path in (root / package).rglob("*.py")
                     if "(?P<officer>" in path.read_text(encoding="utf-8")
                     or r"_\d{14}_" in path.read_text(encoding="utf-8"))
    assert holders == ["media/names.py"]
