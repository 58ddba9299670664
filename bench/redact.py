"""Redaction speed on 720p footage, as × realtime (issue 16's figure; goal ≥ 1×):

    .venv/bin/python bench/redact.py [--seconds 10] [--runs 3] [--quick]

A 1280x720, 30 fps H.264/AAC clip of a real face (tests/data/redaction) moving across is
redacted whole (faces found and followed, blurred, one range muted, encoded, C2PA-signed) with
face search every frame and every 3rd and 5th frame (the default is 3), and, as the baseline
in the same run, transcoded with the same encoder settings and no redaction. Each figure is
the median of ``--runs`` runs: the clip's length divided by the time taken (2× means a
10-second clip takes 5 s). The machine is shared: `uptime` is printed before and after, and
beside the wall-clock figure the CPU time spent (this process and its ffmpeg children) per
second of footage, which a busy machine does not inflate as much, and the part of it spent in
this process (Python and the face search; the rest is ffmpeg's decoder and encoder, which run
beside it): on two idle cores the pipeline can keep up when the whole is under 2 s and this
process's part under 1 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and its modules would shadow packages.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time

from media.content_credentials import Origin, SigningCredentials, sign_redacted
from media.face_detector import FaceDetector
from media.ffmpeg_tools import ffmpeg_executable
from media.redaction import MuteRange, RedactionSettings, redact_video
from tests.redaction_support import make_face_clip, make_test_signer


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def cpu_seconds() -> float:
    """User and system time of this process and of its children that were waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own_cpu_seconds() + children.ru_utime + children.ru_stime


def own_cpu_seconds() -> float:
    """This process's (Python, the face search, the pipes), without ffmpeg's."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def transcode(src: Path, dst: Path) -> None:
    """The baseline: the same decode and encode, nothing covered."""
    subprocess.run([ffmpeg_executable(), "-nostdin", "-v", "error", "-y", "-i", str(src),
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt",
                    "yuv420p", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart",
                    str(dst)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the clip")
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration")
    parser.add_argument("--quick", action="store_true", help="a 4 s clip, 2 runs")
    args = parser.parse_args()
    seconds, runs = (4.0, 2) if args.quick else (args.seconds, args.runs)
    print(f"before: {uptime()}; cores: {os.cpu_count()}")
    signer = make_test_signer()
    credentials = SigningCredentials(signer.chain_pem, signer.key_pem)
    detector = FaceDetector(threshold=0.3)
    with tempfile.TemporaryDirectory(prefix="bench-redact-") as folder:
        work = Path(folder)
        clip = work / "clip.mp4"
        make_face_clip(clip, width=1280, height=720, fps=30, seconds=seconds, face=360)
        print(f"clip: 1280x720, 30 fps, {seconds:g} s, {clip.stat().st_size} bytes")
        figures: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        own: dict[str, list[float]] = {}

        def timed(label: str, job: object) -> None:
            for _ in range(runs):
                began, cpu_began, own_began = time.perf_counter(), cpu_seconds(), own_cpu_seconds()
                job()  # type: ignore[operator]
                figures.setdefault(label, []).append(seconds / (time.perf_counter() - began))
                cpu.setdefault(label, []).append((cpu_seconds() - cpu_began) / seconds)
                own.setdefault(label, []).append((own_cpu_seconds() - own_began) / seconds)

        timed("transcode only (baseline)", lambda: transcode(clip, work / "plain.mp4"))
        for every, width in ((1, 640), (3, 640), (3, 480), (5, 480)):
            settings = RedactionSettings(detect_every=every, detect_width=width,
                                         muted=(MuteRange(1000, 2000),))

            def redact(settings: RedactionSettings = settings) -> None:
                made = work / "made.mp4"
                result = redact_video(clip, made, settings, detector)
                assert result.tracks, "the face was not found"
                sign_redacted(made, work / "signed.mp4", "video/mp4",
                              Origin("bench", "0" * 64, "clip.mp4", "video/mp4"),
                              {"detect_every": settings.detect_every}, credentials)

            timed(f"redact, search every {every} frame(s) at {width} px", redact)
    baseline = statistics.median(figures["transcode only (baseline)"])
    print(f"{'configuration':<44} {'× realtime (median)':>20} {'runs':>20} {'/ baseline':>11} "
          f"{'CPU s per s':>12} {'(Python)':>9}")
    for label, values in figures.items():
        median = statistics.median(values)
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{label:<44} {median:>20.2f} {shown:>20} {median / baseline:>11.2f} "
              f"{statistics.median(cpu[label]):>12.2f} {statistics.median(own[label]):>9.2f}")
    print(f"after: {uptime()}")


if __name__ == "__main__":
    main()
