"""Build a small, realistic body-camera card image for the media and ingest tests.

Everything is generated with ffmpeg's lavfi sources (320x240 test pattern + sine
tone, 2-3 s clips), so nothing binary is checked in and the whole image takes a
couple of seconds. The recorder's clock is UTC+8 (China Standard Time): file names
carry local time, MP4 headers carry the same instant in UTC.

Roles returned by :func:`make_recorder_image`:

* ``segment_1``, ``segment_2``, ``segment_3``: H.264/AAC MP4 segments named in GA/T
  947 style. 1 and 2 are back to back (3 s each); 3 starts 4 s after 2 ends.
* ``avi``: MPEG-4 Part 2 video + PCM audio in AVI (needs a transcode).
* ``hevc_mov``: HEVC (libx265) + AAC in QuickTime MOV (needs a transcode).
* ``photo``: JPEG with EXIF Make, Model and DateTimeOriginal.
* ``wav``: PCM audio recording.
* ``truncated_mp4``: an MP4 cut just before its ``moov`` index (as when a recorder
  loses power mid-recording).
* ``zero_byte``: an empty ``.MP4``.
* ``cjk_name``: an H.264/AAC MP4 with a Chinese file name.
* ``junk_*``: what operating systems leave on cards (System Volume Information,
  AppleDouble ``._`` file, Thumbs.db, .Trashes).
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

from domain.errors import MediaError
from domain.messages import clauses, msg
from media.ffmpeg_tools import ffmpeg_executable, stderr_tail

RECORDER_UTC_OFFSET = timedelta(hours=8)
FIRST_SEGMENT_LOCAL = datetime(2024, 3, 15, 9, 30, 0)
SEGMENT_SECONDS = 3
GAP_BEFORE_SEGMENT_3_SECONDS = 4
PHOTO_LOCAL = datetime(2024, 3, 15, 9, 32, 0)
CAMERA_MAKE = "ZFY Tech"
CAMERA_MODEL = "DSJ-V9"

_LAVFI_VIDEO = "testsrc=size=320x240:rate=15:duration={seconds}"
_LAVFI_AUDIO = "sine=frequency=440:sample_rate=16000:duration={seconds}"
_H264_AAC = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "15",
             "-c:a", "aac", "-b:a", "32k"]  # fmt: skip


def gat_name(serial: str, officer: str, local_start: datetime, sequence: int, ext: str) -> str:
    """A GA/T 947 style name: serial_officer_YYYYMMDDhhmmss_seq.ext."""
    return f"{serial}_{officer}_{local_start:%Y%m%d%H%M%S}_{sequence:04d}.{ext}"


def make_recorder_image(root: Path, *, serial: str = "ZFY0001", officer: str = "100234") -> dict[str, Path]:
    """Write a recorder card image under ``root``; return role -> path."""
    media_dir = root / "DCIM" / "100MEDIA"
    media_dir.mkdir(parents=True, exist_ok=True)
    starts = [
        FIRST_SEGMENT_LOCAL,
        FIRST_SEGMENT_LOCAL + timedelta(seconds=SEGMENT_SECONDS),
        FIRST_SEGMENT_LOCAL + timedelta(seconds=2 * SEGMENT_SECONDS + GAP_BEFORE_SEGMENT_3_SECONDS),
    ]
    roles: dict[str, Path] = {}
    jobs: list[tuple[str, list[str]]] = []
    for index, local_start in enumerate(starts, start=1):
        path = media_dir / gat_name(serial, officer, local_start, index, "MP4")
        roles[f"segment_{index}"] = path
        jobs.append((path.name, _h264_clip(path, SEGMENT_SECONDS, local_start)))

    roles["cjk_name"] = media_dir / "执法记录_测试.mp4"
    jobs.append(("cjk", _h264_clip(roles["cjk_name"], 2, FIRST_SEGMENT_LOCAL)))

    roles["avi"] = media_dir / "MOVI0001.AVI"
    jobs.append(("avi", [*_lavfi_inputs(2), "-c:v", "mpeg4", "-q:v", "8",
                         "-c:a", "pcm_s16le", "-shortest", str(roles["avi"])]))  # fmt: skip

    roles["hevc_mov"] = media_dir / "IMG_20240315_093500.MOV"
    jobs.append(("hevc", [*_lavfi_inputs(2), "-c:v", "libx265", "-preset", "ultrafast",
                          "-x265-params", "log-level=error", "-pix_fmt", "yuv420p",
                          "-tag:v", "hvc1", "-c:a", "aac", "-b:a", "32k", "-shortest",
                          str(roles["hevc_mov"])]))  # fmt: skip

    roles["wav"] = media_dir / gat_name(serial, officer, FIRST_SEGMENT_LOCAL, 5, "WAV")
    jobs.append(("wav", ["-f", "lavfi", "-i", _LAVFI_AUDIO.format(seconds=2),
                         "-c:a", "pcm_s16le", str(roles["wav"])]))  # fmt: skip

    whole_for_truncation = root / ".whole_for_truncation.mp4"
    jobs.append(("truncation source", _h264_clip(whole_for_truncation, 2, FIRST_SEGMENT_LOCAL)))

    photo_source = root / ".photo_source.png"
    jobs.append(("photo source", ["-f", "lavfi", "-i", "testsrc=size=320x240",
                                  "-frames:v", "1", str(photo_source)]))  # fmt: skip

    _run_parallel(jobs)

    roles["truncated_mp4"] = media_dir / gat_name(serial, officer, starts[2], 6, "MP4")
    _write_without_moov(whole_for_truncation, roles["truncated_mp4"])
    whole_for_truncation.unlink()

    roles["photo"] = media_dir / gat_name(serial, officer, PHOTO_LOCAL, 7, "JPG")
    _write_photo_with_exif(photo_source, roles["photo"], PHOTO_LOCAL)
    photo_source.unlink()

    roles["zero_byte"] = media_dir / gat_name(serial, officer, PHOTO_LOCAL, 8, "MP4")
    roles["zero_byte"].write_bytes(b"")

    roles.update(_write_os_junk(root, media_dir))
    return roles


def _lavfi_inputs(seconds: int) -> list[str]:
    return ["-f", "lavfi", "-i", _LAVFI_VIDEO.format(seconds=seconds),
            "-f", "lavfi", "-i", _LAVFI_AUDIO.format(seconds=seconds)]  # fmt: skip


def _h264_clip(path: Path, seconds: int, local_start: datetime) -> list[str]:
    utc_start = local_start - RECORDER_UTC_OFFSET
    # No +faststart: recorders write the index last, like a plain ffmpeg mux.
    return [*_lavfi_inputs(seconds), *_H264_AAC, "-shortest",
            "-metadata", f"creation_time={utc_start:%Y-%m-%dT%H:%M:%S}Z", str(path)]  # fmt: skip


def _run_parallel(jobs: list[tuple[str, list[str]]]) -> None:
    base = [ffmpeg_executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    running = [
        (label, subprocess.Popen([*base, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for label, args in jobs
    ]
    failures = []
    for label, process in running:
        _, stderr = process.communicate(timeout=120)
        if process.returncode != 0:
            failures.append(f"{label}: {stderr_tail(stderr)}")
    if failures:
        raise MediaError(
            msg("Could not generate the recorder test image: {failures}",
                failures=clauses(failures)),
            hint=msg("Install Debian's ffmpeg (apt-get install ffmpeg), which has libx264 and libx265."),
        )


def _write_without_moov(whole: Path, truncated: Path) -> None:
    """Copy ``whole`` up to (not including) its top-level ``moov`` box."""
    data = whole.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        box_type = data[offset + 4 : offset + 8]
        if box_type == b"moov":
            truncated.write_bytes(data[:offset])
            return
        if size == 1:  # 64-bit size follows the type
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        if size < 8:
            break
        offset += size
    raise MediaError(msg("{whole} has no top-level moov box to cut off.", whole=whole.name))


def _write_photo_with_exif(source: Path, dst: Path, local_time: datetime) -> None:
    exif = Image.Exif()
    exif[0x010F] = CAMERA_MAKE
    exif[0x0110] = CAMERA_MODEL
    exif.get_ifd(0x8769)[0x9003] = f"{local_time:%Y:%m:%d %H:%M:%S}"
    with Image.open(source) as picture:
        picture.convert("RGB").save(dst, format="JPEG", quality=85, exif=exif)


def _write_os_junk(root: Path, media_dir: Path) -> dict[str, Path]:
    system_volume = root / "System Volume Information"
    system_volume.mkdir(exist_ok=True)
    (system_volume / "IndexerVolumeGuid").write_bytes("{7A1C0D2E-0000}".encode("utf-16-le"))
    appledouble = media_dir / "._VID.MP4"
    # AppleDouble magic and version, then filler: macOS resource-fork sidecar.
    appledouble.write_bytes(bytes.fromhex("0005160700020000") + b"\x00" * 74)
    thumbs = media_dir / "Thumbs.db"
    thumbs.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504)  # OLE2 header
    trashes = root / ".Trashes"
    (trashes / "501").mkdir(parents=True, exist_ok=True)
    (trashes / "501" / "deleted.MP4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    return {
        "junk_system_volume_information": system_volume,
        "junk_appledouble": appledouble,
        "junk_thumbs_db": thumbs,
        "junk_trashes": trashes,
    }
