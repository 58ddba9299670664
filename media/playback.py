"""Browser-playable copies of evidence media, and joining segments for viewing.

The original is never touched; a playback copy is a derived convenience file.

* H.264 (4:2:0, 8-bit) video with AAC audio or none, in MP4/MOV: **remux** by stream
  copy into a fast-start MP4 (index first, so playback starts before download ends).
  Lossless and fast: the pictures are bit-identical to the original.
* Any other video (MPEG-4 Part 2 AVI, HEVC, ...): **transcode** to H.264/AAC MP4,
  scaled down to at most 720 lines (aspect kept, even dimensions; bilinear), x264
  preset ultrafast with CABAC, 2 B-frames and the deblocking filter back on, CRF 26:
  about 0.25 CPU-seconds per second of 1080p30 MPEG-4 footage, where preset veryfast
  took 0.44 at a similar SSIM (``bench/ingest.py`` measures it).
* Audio only: AAC in an MP4 (M4A) container; AAC in MP4 already is remuxed.
* Still images: no playback copy; :func:`make_playback_copy` returns None.

Output is written to a hidden temp file beside ``dst`` and renamed into place only
after ffmpeg succeeded and the result probes as the expected codecs, so ``dst`` is
never a half-written file.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.error
import ffmpeg

from domain.errors import MediaError
from domain.messages import msg
from media.ffmpeg_tools import ffmpeg_executable, run_ffmpeg
from media.probe import MediaInfo, probe

PLAYBACK_MAX_HEIGHT = 720
_REMUXABLE_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})
_MP4_FAMILY_DEMUXER = "mov,mp4,m4a,3gp,3g2,mj2"

PlaybackMethod = Literal["remux", "transcode"]
# ffmpeg arguments for a given output path: the temp file is named only when run.
_ArgsBuilder = Callable[[Path], list[str]]


@dataclass(frozen=True)
class PlaybackResult:
    """A finished playback copy, with what the source and the copy contain."""

    method: PlaybackMethod
    path: Path
    source: MediaInfo
    output: MediaInfo

    @property
    def duration_difference_ms(self) -> int | None:
        """Copy minus source duration; far from 0 means the source is damaged."""
        if self.output.duration_ms is None or self.source.duration_ms is None:
            return None
        return self.output.duration_ms - self.source.duration_ms


def can_remux(info: MediaInfo) -> bool:
    """True when stream copy into MP4 gives a file every browser can play."""
    if info.container != _MP4_FAMILY_DEMUXER:
        return False
    if info.kind == "audio":
        return info.audio_codec == "aac"
    return (
        info.kind == "video"
        and info.video_codec == "h264"
        and info.video_pixel_format in _REMUXABLE_PIXEL_FORMATS
        and info.audio_codec in (None, "aac")
    )


def make_playback_copy(
    src: Path,
    dst: Path,
    *,
    max_height: int = PLAYBACK_MAX_HEIGHT,
    timeout_seconds: int | None = None,
    media: MediaInfo | None = None,
) -> PlaybackResult | None:
    """Write a browser-playable MP4 of ``src`` to ``dst``; None for still images.

    ``media`` is ``probe(src)`` if the caller already has it. Raises MediaError when
    the source cannot be read or ffmpeg fails; the message includes the end of
    ffmpeg's error output.
    """
    source = media if media is not None else probe(src)
    if source.kind == "image":
        return None
    if source.kind == "unknown":
        raise MediaError(
            msg("{src} ({container}) has no audio or video stream to play.", src=src.name,
                container=source.container),
            hint=msg("Keep the original; no playback copy can be made for it."),
        )
    _prepare_destination(dst)
    if can_remux(source):
        try:
            return _produce(src, dst, source, "remux", _remux_args(src, source), timeout_seconds)
        except MediaError as remux_error:
            # Some recorders write MP4s that stream copy cannot rewrite (broken edit
            # lists, odd timestamps); re-encoding still gives a viewable copy.
            try:
                args = _transcode_args(src, source, max_height)
                return _produce(src, dst, source, "transcode", args, timeout_seconds)
            except MediaError as transcode_error:
                raise MediaError(
                    msg("No playback copy of {src}: remux failed ({remux_error}) and transcode failed "
                        "({transcode_error}).", src=src.name, remux_error=remux_error,
                        transcode_error=transcode_error),
                ) from transcode_error
    args = _transcode_args(src, source, max_height)
    return _produce(src, dst, source, "transcode", args, timeout_seconds)


def _produce(
    src: Path,
    dst: Path,
    source: MediaInfo,
    method: PlaybackMethod,
    args_for_output: _ArgsBuilder,
    timeout_seconds: int | None,
) -> PlaybackResult:
    with _temp_beside(dst) as temp:
        run_ffmpeg(args_for_output(temp), what=msg("{method} of {src}", method=method, src=src.name),
                   timeout_seconds=timeout_seconds)
        output = probe(temp)
        _check_output(src, source, output, method)
        temp.replace(dst)
    return PlaybackResult(method=method, path=dst, source=source, output=output)


def _remux_args(src: Path, source: MediaInfo) -> _ArgsBuilder:
    maps = ["-map", "0:v:0"] if source.video_codec else []
    if source.audio_codec:
        maps += ["-map", "0:a:0"]

    def build(output: Path) -> list[str]:
        return [
            "-i", _file_url(src), *maps, "-c", "copy", "-dn", "-sn",
            "-map_metadata", "0", "-movflags", "+faststart", "-f", "mp4", _file_url(output),
        ]  # fmt: skip

    return build


def _transcode_args(src: Path, source: MediaInfo, max_height: int) -> _ArgsBuilder:
    def build(output: Path) -> list[str]:
        stream_input = ffmpeg.input(_file_url(src))
        streams: list[Any] = []
        options: dict[str, str | int] = {"format": "mp4", "movflags": "+faststart"}
        if source.video_codec:
            # -2 keeps the aspect ratio with an even width; the height is capped and even.
            height = f"min({max_height},trunc(ih/2)*2)"
            # bilinear: cheaper than bicubic, SSIM within 0.002 of it at a 1.5x downscale.
            streams.append(stream_input["v:0"].filter("scale", -2, height, flags="bilinear"))
            # ultrafast alone drops CABAC, B-frames and deblocking, which cost little CPU
            # but save about 40% of the bits and the blockiness; the look-ahead
            # (mb-tree) that veryfast adds is what nearly doubles the CPU time: it stays off.
            options |= {"vcodec": "libx264", "preset": "ultrafast", "crf": 26,
                        "x264-params": "cabac=1:bframes=2:deblock=0,0",
                        "pix_fmt": "yuv420p"}  # fmt: skip
        if source.audio_codec:
            streams.append(stream_input["a:0"])
            options |= {"acodec": "aac", "b:a": "128k"}
        compiled: list[str] = ffmpeg.output(*streams, _file_url(output), **options).compile(
            cmd=ffmpeg_executable()
        )
        return compiled[1:]  # run_ffmpeg adds the program and its global options

    return build


def _check_output(src: Path, source: MediaInfo, output: MediaInfo, method: str) -> None:
    want_video = "h264" if source.video_codec else None
    want_audio = "aac" if source.audio_codec else None
    if output.video_codec != want_video or output.audio_codec != want_audio:
        raise MediaError(
            msg("The {method} of {src} produced {video_codec}/{audio_codec} instead of "
                "{want_video}/{want_audio}.", method=method, src=src.name, video_codec=output.video_codec,
                audio_codec=output.audio_codec, want_video=want_video, want_audio=want_audio),
            hint=msg("Check the installed ffmpeg build (it needs libx264 and the aac encoder)."),
        )


def _prepare_destination(dst: Path) -> None:
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise MediaError(
            msg("Cannot create the folder for the playback copy {dst}: {value}.", dst=dst,
                value=err.strerror or err),
            hint=msg("Check the playback directory setting, free space and permissions."),
        ) from err


def _file_url(path: Path) -> str:
    # The file: prefix stops ffmpeg from reading "name:..." as a protocol or a
    # leading "-" as an option.
    return f"file:{path.resolve()}"


@contextlib.contextmanager
def _temp_beside(dst: Path) -> Iterator[Path]:
    temp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.partial")
    try:
        yield temp
    finally:
        temp.unlink(missing_ok=True)


def concat_playlist(segments: Sequence[Path]) -> str:
    """An ffmpeg concat-demuxer playlist ("ffconcat") playing ``segments`` in order.

    Paths are absolute so the playlist works from any directory (read it with
    ``-f concat -safe 0``). The joined stream closes gaps between segments:
    show the gaps reported by media.recordings next to it.
    """
    if not segments:
        raise MediaError(msg("Cannot build a playlist of no segments."),
                         hint=msg("Pass at least one file."))
    lines = ["ffconcat version 1.0"]
    for segment in segments:
        absolute = str(segment.resolve())
        if "\n" in absolute or "\r" in absolute:
            raise MediaError(
                msg("Segment path {absolute!r} contains a line break and cannot be listed.",
                    absolute=absolute),
                hint=msg("Rename the playback copy; the original is not affected."),
            )
        quoted = absolute.replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    return "\n".join(lines) + "\n"


def join_segments(
    segments: Sequence[Path], dst: Path, *, timeout_seconds: int | None = None
) -> PlaybackResult:
    """Join playback copies back to back into one fast-start MP4, closing any gap between
    them: for a recording, use :func:`join_on_wall_clock`, which keeps the time.

    Uses stream copy, so all segments must share codecs, picture size and pixel
    format (true for segments of one recording from one recorder); otherwise a
    MediaError says which segment differs.
    """
    infos = [probe(segment) for segment in segments]
    if not infos:
        raise MediaError(msg("Cannot join no segments."), hint=msg("Pass at least one file."))
    first = infos[0]
    for segment, info in zip(segments, infos, strict=True):
        if _stream_shape(info) != _stream_shape(first):
            raise MediaError(
                msg("{segment} ({stream_shape}) differs from {name} ({stream_shape2}), so they cannot be "
                    "joined by stream copy.", segment=segment.name, stream_shape=_stream_shape(info),
                    name=segments[0].name, stream_shape2=_stream_shape(first)),
                hint=msg("Make all playback copies with the same method before joining."),
            )
    total_ms = sum(info.duration_ms or 0 for info in infos)
    source = MediaInfo(
        kind=first.kind,
        container=first.container,
        video_codec=first.video_codec,
        audio_codec=first.audio_codec,
        duration_ms=total_ms,
        width=first.width,
        height=first.height,
        creation_time=first.creation_time,
        video_pixel_format=first.video_pixel_format,
    )
    _prepare_destination(dst)
    with _temp_beside(dst) as temp:
        playlist = temp.with_suffix(".ffconcat")
        try:
            playlist.write_text(concat_playlist(segments), encoding="utf-8")
            run_ffmpeg(
                ["-f", "concat", "-safe", "0", "-i", _file_url(playlist), "-c", "copy",
                 "-movflags", "+faststart", "-f", "mp4", _file_url(temp)],
                what=msg("join of {segments_count} segments into {dst}", segments_count=len(segments),
                         dst=dst.name),
                timeout_seconds=timeout_seconds,
            )  # fmt: skip
        finally:
            playlist.unlink(missing_ok=True)
        output = probe(temp)
        _check_output(dst, source, output, "join")
        temp.replace(dst)
    return PlaybackResult(method="remux", path=dst, source=source, output=output)


_StreamShape = tuple[str | None, str | None, int | None, int | None, str | None]


def _stream_shape(info: MediaInfo) -> _StreamShape:
    return (info.video_codec, info.audio_codec, info.width, info.height, info.video_pixel_format)


# --- joining on the wall clock: gaps become black picture and silence -----------------

FILLER_UNIT_SECONDS = 10  # one black clip this long (at most) is made per join and reused
MIN_FILLER_MICROSECONDS = 40_000  # shorter gaps only shift what follows (less than a frame)
_X264_PROFILES = {"baseline": "baseline", "constrained baseline": "baseline", "main": "main",
                  "high": "high"}


@dataclass(frozen=True)
class JoinPart:
    """A stretch of the joined file: a playback copy played from its start, or a gap."""

    path: Path | None  # None: a gap, shown as black picture and silence
    microseconds: int  # how long it lasts in the joined file


@dataclass(frozen=True)
class _Shape:
    """What a filler must match for the parts to be joined by stream copy."""

    width: int
    height: int
    pixel_format: str
    frame_rate: str  # a fraction, e.g. "30000/1001"
    timescale: int  # the video track's time base denominator
    profile: str | None
    sample_rate: int | None  # None: no audio
    channel_layout: str | None


def join_on_wall_clock(parts: Sequence[JoinPart], dst: Path, *,
                       timeout_seconds: int | None = None) -> PlaybackResult:
    """Join playback copies so that time ``t`` into ``dst`` is ``t`` after the first part began.

    Each copy is played from its start for its part's length (a longer copy is cut there;
    a shorter one holds its last picture); each gap is black picture and silence of its
    exact length, encoded once in the copies' picture size, pixel format, frame rate,
    profile and audio layout and reused, so the whole join is still a stream copy.
    Gaps shorter than MIN_FILLER_MICROSECONDS only move what follows.
    """
    clips = [part.path for part in parts if part.path is not None]
    if not clips or parts[0].path is None:
        raise MediaError(msg("A joined recording starts with a segment and has at least one."),
                         hint=msg("Pass the parts of media.recordings.timeline().pieces."))
    if any(part.microseconds <= 0 for part in parts):
        raise MediaError(msg("Every part of a joined recording lasts some time."),
                         hint=msg("Leave out parts of no length."))
    source = _same_shape(clips)
    cuts = {clip: _cut_margin(clip) for clip in set(clips)}
    _prepare_destination(dst)
    with _temp_beside(dst) as temp:
        playlist = temp.with_suffix(".ffconcat")
        filler = temp.with_suffix(".filler.mp4")
        try:
            longest_gap = max((p.microseconds for p in parts if p.path is None), default=0)
            unit = min(longest_gap, FILLER_UNIT_SECONDS * 1_000_000)
            if unit >= MIN_FILLER_MICROSECONDS:
                _make_filler(_shape_of(clips[0]), unit, filler, timeout_seconds)
            playlist.write_text(_wall_clock_playlist(parts, filler, unit, cuts), encoding="utf-8")
            run_ffmpeg(
                ["-f", "concat", "-safe", "0", "-i", _file_url(playlist), "-c", "copy",
                 "-movflags", "+faststart", "-f", "mp4", _file_url(temp)],
                what=msg("join of {clips_count} segments into {dst}", clips_count=len(clips), dst=dst.name),
                timeout_seconds=timeout_seconds,
            )  # fmt: skip
        finally:
            playlist.unlink(missing_ok=True)
            filler.unlink(missing_ok=True)
        output = probe(temp)
        _check_output(dst, source, output, "join")
        temp.replace(dst)
    return PlaybackResult(method="remux", path=dst, source=source, output=output)


def _same_shape(clips: Sequence[Path]) -> MediaInfo:
    infos = [probe(clip) for clip in clips]
    first = infos[0]
    for clip, info in zip(clips, infos, strict=True):
        if _stream_shape(info) != _stream_shape(first):
            raise MediaError(
                msg("{clip} ({stream_shape}) differs from {name} ({stream_shape2}), so they cannot be "
                    "joined by stream copy.", clip=clip.name, stream_shape=_stream_shape(info),
                    name=clips[0].name, stream_shape2=_stream_shape(first)),
                hint=msg("Make all playback copies with the same method before joining."),
            )
    if first.video_codec is None:
        raise MediaError(msg("{name} has no picture; only video recordings are joined.", name=clips[0].name),
                         hint=msg("Play audio recordings segment by segment."))
    return first


def _seconds(microseconds: int) -> str:
    whole, fraction = divmod(microseconds, 1_000_000)
    return f"{whole}.{fraction:06d}"


def _wall_clock_playlist(parts: Sequence[JoinPart], filler: Path, unit: int,
                         cuts: dict[Path, tuple[int, int]]) -> str:
    """An ffconcat playlist: every entry says how long it lasts (``duration``: where the
    next one starts) and where it is cut (``outpoint``, a decoding time)."""
    entries: list[tuple[Path, int, int]] = []  # (path, duration, outpoint)
    for part in parts:
        if part.path is not None:
            length, reorder = cuts[part.path]
            # Cut by decoding time: a picture shown at or after the cut may be decoded up
            # to ``reorder`` before it (B-frames), so cut that much earlier; the last
            # picture kept is held until the next part begins, on time.
            outpoint = part.microseconds if part.microseconds >= length else \
                max(1, part.microseconds - reorder)
            entries.append((part.path, part.microseconds, outpoint))
            continue
        left = part.microseconds
        while left >= MIN_FILLER_MICROSECONDS:
            take = min(left, unit)
            entries.append((filler, take, take))
            left -= take
        path, duration, outpoint = entries[-1]
        entries[-1] = (path, duration + left, outpoint)  # a sliver only moves what follows
    lines = ["ffconcat version 1.0"]
    for path, duration, outpoint in entries:
        absolute = str(path.resolve())
        if "\n" in absolute or "\r" in absolute:
            raise MediaError(msg("Segment path {absolute!r} contains a line break and cannot be listed.",
                                 absolute=absolute),
                             hint=msg("Rename the playback copy; the original is not affected."))
        quoted = absolute.replace("'", "'\\''")
        lines += [f"file '{quoted}'", f"duration {_seconds(duration)}",
                  f"outpoint {_seconds(outpoint)}"]
    return "\n".join(lines) + "\n"


def _shape_of(clip: Path) -> _Shape:
    try:
        with av.open(str(clip)) as container:
            video = container.streams.video[0]
            audio = container.streams.audio[0] if container.streams.audio else None
            rate = video.average_rate or video.guessed_rate or Fraction(25)
            return _Shape(
                width=video.codec_context.width, height=video.codec_context.height,
                pixel_format=video.codec_context.pix_fmt or "yuv420p",
                frame_rate=f"{rate.numerator}/{rate.denominator}",
                timescale=video.time_base.denominator if video.time_base else 90_000,
                profile=_X264_PROFILES.get((video.codec_context.profile or "").lower()),
                sample_rate=audio.codec_context.sample_rate if audio else None,
                channel_layout=audio.codec_context.layout.name if audio else None)
    except (av.error.FFmpegError, OSError, IndexError) as err:
        raise MediaError(msg("Could not read the streams of {clip}: {reason}.", clip=clip.name, reason=err),
                         hint=msg("Remake the playback copy from the original.")) from err


def _cut_margin(clip: Path) -> tuple[int, int]:
    """The clip's length and the most its pictures are decoded ahead of being shown (the
    B-frame reordering), in microseconds, from the first packets' timestamps."""
    try:
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            base = stream.time_base or Fraction(1, 90_000)
            reorder = 0
            for number, packet in enumerate(container.demux(stream)):
                if number >= 300:
                    break
                if packet.pts is not None and packet.dts is not None:
                    reorder = max(reorder, packet.pts - packet.dts)
            length = container.duration if container.duration is not None else 0
            return length, int(reorder * base * 1_000_000)
    except (av.error.FFmpegError, OSError, IndexError) as err:
        raise MediaError(msg("Could not read the streams of {clip}: {reason}.", clip=clip.name, reason=err),
                         hint=msg("Remake the playback copy from the original.")) from err


def _make_filler(shape: _Shape, microseconds: int, dst: Path, timeout_seconds: int | None) -> None:
    """Black picture (and silence, if the copies have sound) of the copies' shape."""
    seconds = _seconds(microseconds + 1_000_000)  # a second more than any cut needs
    args = ["-f", "lavfi", "-i",
            f"color=c=black:s={shape.width}x{shape.height}:r={shape.frame_rate}:d={seconds}"]
    if shape.sample_rate is not None:
        args += ["-f", "lavfi", "-i",
                 f"anullsrc=r={shape.sample_rate}:cl={shape.channel_layout or 'stereo'}"]
    args += ["-t", seconds, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage",
             "-pix_fmt", shape.pixel_format, "-g", "25", "-video_track_timescale",
             str(shape.timescale)]
    if shape.profile is not None:
        args += ["-profile:v", shape.profile]
    if shape.sample_rate is not None:
        args += ["-c:a", "aac", "-b:a", "64k"]
    args += ["-movflags", "+faststart", "-f", "mp4", _file_url(dst)]
    run_ffmpeg(args, what=msg("black filler for a gap"), timeout_seconds=timeout_seconds)
