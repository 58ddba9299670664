"""Group recorder segments into recordings, and report every gap and overlap.

Body-worn recorders split one continuous recording into fixed-length files (often
10 or 15 minutes). The rule, per device (segments without a device are never joined:
nothing shows they came from one recorder):

1. Sort the device's segments by start time (then sequence number, then evidence id).
2. Walk them in that order. ``end so far`` is the latest end of any segment already
   in the current recording. The next segment *joins* the current recording when
   * it starts no more than ``max_join_gap_seconds`` (default 300) after ``end so
     far`` (it may also start before it: an overlap), or
   * its sequence number is exactly one more than the previous segment's (the
     recorder itself numbered them as a continuation), unless
     ``join_consecutive_sequences=False`` (for recorders whose counter runs across
     separate recordings).
   Otherwise it starts a new recording.
3. Inside a recording, every gap longer than ``max_gap_seconds`` (default 2, the
   tolerance for clock rounding between segments) is reported with its start, end
   and exact length, as is every overlap longer than the same tolerance. The
   full-process recording requirement needs these visible: a joined recording with
   a reported gap is *not* continuous. Forward jumps in sequence numbers between
   joined segments are reported as ``missing_sequences``: a file may be missing,
   or the recorder gave those numbers to other files (photos, audio), so they are
   a prompt to check, not proof.

Consequences: recordings of one device never overlap each other (an overlapping
segment always joins), and every segment is in exactly one recording.

A recording's *timeline* (:func:`timeline`) is the same walk without a tolerance: every
gap and every overlap between consecutive segments, exactly, and the plan of the joined
file that plays the recording on the wall clock (time ``t`` into the file is ``start + t``):

* a gap is a piece of its own (black picture and silence), never closed;
* where segments overlap, the joined file shows the segment that started *later* from its
  own start, cutting the earlier one's tail there (a cut at the end is exact with stream
  copy; a cut at the start would have to begin on a key frame). A segment lying wholly
  inside what earlier segments cover is left out of the joined file: the earlier segment
  already shows that time, and the left-out segment plays on its own;
* so segment pieces and gap pieces tile ``[start, end]`` exactly, every shown piece
  begins at its segment's own start, and, per segment, shown time plus overlap time is
  its duration.

A recording's id is ``rec-`` plus the first 32 hex digits of SHA-256 over the device
and the evidence id of its first segment, so it is stable when later segments are
added, and changes only if an earlier segment turns up.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from domain.errors import MediaError
from domain.messages import msg

DEFAULT_MAX_GAP_SECONDS = 2
DEFAULT_MAX_JOIN_GAP_SECONDS = 300
_ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Segment:
    """One recorded file: when it starts (aware UTC) and how long it runs."""

    evidence_id: str
    device: str | None
    start: datetime
    duration_ms: int
    sequence: int | None = None

    @property
    def end(self) -> datetime:
        return self.start + timedelta(milliseconds=self.duration_ms)


@dataclass(frozen=True)
class _Span:
    """A stretch of time inside a recording, measured exactly."""

    start: datetime
    end: datetime

    @property
    def microseconds(self) -> int:
        return (self.end - self.start) // _ONE_MICROSECOND

    @property
    def seconds(self) -> Fraction:
        return Fraction(self.microseconds, 1_000_000)

    def _span_record(self) -> dict[str, str | int]:
        """JSON-ready: ISO times, exact seconds as a decimal string, integer ms."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "seconds": _decimal_seconds(self.microseconds),
            "milliseconds": self.microseconds // 1000,
        }


@dataclass(frozen=True)
class Gap(_Span):
    """Time inside a recording that no segment covers."""

    before_evidence_id: str  # the segment that ends at ``start``
    after_evidence_id: str  # the segment that starts at ``end``

    def to_record(self) -> dict[str, str | int]:
        return {**self._span_record(), "before_evidence_id": self.before_evidence_id,
                "after_evidence_id": self.after_evidence_id}


@dataclass(frozen=True)
class Overlap(_Span):
    """Time inside a recording covered by two segments at once."""

    earlier_evidence_id: str  # the segment whose coverage reaches ``end``
    later_evidence_id: str  # the segment that starts at ``start``

    def to_record(self) -> dict[str, str | int]:
        return {**self._span_record(), "earlier_evidence_id": self.earlier_evidence_id,
                "later_evidence_id": self.later_evidence_id}


@dataclass(frozen=True)
class Recording:
    """Segments of one device that belong together, with their discontinuities."""

    recording_id: str
    device: str | None
    segments: tuple[Segment, ...]
    start: datetime
    end: datetime
    gaps: tuple[Gap, ...]
    overlaps: tuple[Overlap, ...]
    missing_sequences: tuple[tuple[int, int], ...]  # inclusive ranges of absent numbers

    @property
    def continuous(self) -> bool:
        """True when no gap, overlap or missing sequence number was found."""
        return not (self.gaps or self.overlaps or self.missing_sequences)


def group_recordings(
    segments: Sequence[Segment],
    *,
    max_gap_seconds: int = DEFAULT_MAX_GAP_SECONDS,
    max_join_gap_seconds: int = DEFAULT_MAX_JOIN_GAP_SECONDS,
    join_consecutive_sequences: bool = True,
) -> list[Recording]:
    """Partition ``segments`` into recordings (see module docstring for the rule).

    Recordings are returned sorted by start time, then recording id.
    """
    _validate(segments, max_gap_seconds, max_join_gap_seconds)
    tolerance = timedelta(seconds=max_gap_seconds)
    join_gap = timedelta(seconds=max_join_gap_seconds)
    by_device: dict[str | None, list[Segment]] = {}
    for segment in segments:
        by_device.setdefault(segment.device, []).append(segment)
    recordings: list[Recording] = []
    for device, device_segments in by_device.items():
        ordered = sorted(device_segments, key=_order_key)
        if device is None:
            groups = [[segment] for segment in ordered]
        else:
            groups = _split(ordered, join_gap, join_consecutive_sequences)
        recordings.extend(_build(device, group, tolerance) for group in groups)
    recordings.sort(key=lambda r: (r.start, r.recording_id))
    return recordings


def recording_id_for(device: str | None, first_evidence_id: str) -> str:
    digest = hashlib.sha256(f"{device or ''}\x00{first_evidence_id}".encode()).hexdigest()
    return f"rec-{digest[:32]}"


def _validate(segments: Sequence[Segment], max_gap: int, max_join_gap: int) -> None:
    if max_gap < 0 or max_join_gap < 0:
        raise MediaError(
            msg("Gap limits must not be negative (max_gap_seconds={max_gap}, "
                "max_join_gap_seconds={max_join_gap}).", max_gap=max_gap, max_join_gap=max_join_gap),
            hint=msg("Use 0 or more seconds."),
        )
    seen: set[str] = set()
    for segment in segments:
        if segment.evidence_id in seen:
            raise MediaError(
                msg("Segment {evidence_id} is listed twice.", evidence_id=segment.evidence_id),
                hint=msg("Pass each evidence item once."),
            )
        seen.add(segment.evidence_id)
        if segment.start.tzinfo is None or segment.start.utcoffset() is None:
            raise MediaError(
                msg("Segment {evidence_id} has a start time without a time zone.",
                    evidence_id=segment.evidence_id),
                hint=msg("Resolve it to UTC first (media.names.resolve_start_time)."),
            )
        if segment.duration_ms < 0:
            raise MediaError(
                msg("Segment {evidence_id} has a negative duration ({duration_ms} ms).",
                    evidence_id=segment.evidence_id, duration_ms=segment.duration_ms),
                hint=msg("Re-probe the file; a duration cannot be negative."),
            )


def _order_key(segment: Segment) -> tuple[datetime, int, str]:
    sequence = segment.sequence if segment.sequence is not None else -1
    return (segment.start, sequence, segment.evidence_id)


def _split(
    ordered: list[Segment], join_gap: timedelta, join_consecutive_sequences: bool
) -> list[list[Segment]]:
    groups: list[list[Segment]] = []
    end_so_far: datetime | None = None
    for segment in ordered:
        if end_so_far is None or not _joins(
            groups[-1][-1], end_so_far, segment, join_gap, join_consecutive_sequences
        ):
            groups.append([segment])
            end_so_far = segment.end
        else:
            groups[-1].append(segment)
            end_so_far = max(end_so_far, segment.end)
    return groups


def _joins(
    previous: Segment,
    end_so_far: datetime,
    segment: Segment,
    join_gap: timedelta,
    join_consecutive_sequences: bool,
) -> bool:
    if segment.start - end_so_far <= join_gap:
        return True
    return (
        join_consecutive_sequences
        and previous.sequence is not None
        and segment.sequence is not None
        and segment.sequence == previous.sequence + 1
    )


def _build(device: str | None, group: list[Segment], tolerance: timedelta) -> Recording:
    gaps: list[Gap] = []
    overlaps: list[Overlap] = []
    missing: list[tuple[int, int]] = []
    end_so_far = group[0].end
    covering = group[0]  # the segment whose end is end_so_far
    for previous, segment in itertools.pairwise(group):
        if segment.start - end_so_far > tolerance:
            gaps.append(Gap(end_so_far, segment.start, covering.evidence_id, segment.evidence_id))
        elif min(end_so_far, segment.end) - segment.start > tolerance:
            overlap_end = min(end_so_far, segment.end)
            overlaps.append(Overlap(segment.start, overlap_end, covering.evidence_id, segment.evidence_id))
        if (
            previous.sequence is not None
            and segment.sequence is not None
            and segment.sequence > previous.sequence + 1
        ):
            missing.append((previous.sequence + 1, segment.sequence - 1))
        if segment.end > end_so_far:
            end_so_far = segment.end
            covering = segment
    return Recording(
        recording_id=recording_id_for(device, group[0].evidence_id),
        device=device,
        segments=tuple(group),
        start=group[0].start,
        end=end_so_far,
        gaps=tuple(gaps),
        overlaps=tuple(overlaps),
        missing_sequences=tuple(missing),
    )


@dataclass(frozen=True)
class Piece:
    """A stretch of the joined file: part of a segment (from the segment's own start) or a gap."""

    start: datetime
    end: datetime
    evidence_id: str | None  # None for a gap

    @property
    def microseconds(self) -> int:
        return (self.end - self.start) // _ONE_MICROSECOND


@dataclass(frozen=True)
class PlacedSegment:
    """A segment and the part of it the joined file shows: ``[segment.start, shown_end]``."""

    segment: Segment
    shown_end: datetime  # equal to segment.start when the joined file leaves it out

    @property
    def in_joined_file(self) -> bool:
        return self.shown_end > self.segment.start

    @property
    def shown_microseconds(self) -> int:
        return (self.shown_end - self.segment.start) // _ONE_MICROSECOND


@dataclass(frozen=True)
class Timeline:
    """Every gap and overlap of a recording exactly, and the joined file's plan."""

    recording: Recording
    segments: tuple[PlacedSegment, ...]  # in recording order
    gaps: tuple[Gap, ...]  # every gap, however short
    overlaps: tuple[Overlap, ...]  # every overlap, however short
    pieces: tuple[Piece, ...]  # the joined file, in order: contiguous from start to end

    def offset_microseconds(self, moment: datetime) -> int:
        """Where the wall-clock ``moment`` falls in the joined file."""
        return (moment - self.recording.start) // _ONE_MICROSECOND


def timeline(recording: Recording) -> Timeline:
    """The recording's timeline (see the module docstring): one walk over its segments."""
    gaps: list[Gap] = []
    overlaps: list[Overlap] = []
    shown: dict[str, datetime] = {}  # evidence id -> shown end, for segments in the file
    pieces: list[Piece] = []
    first = recording.segments[0]
    cursor = first.end  # the latest end so far; the last shown piece ends there
    covering = first
    if first.end > first.start:  # only pieces of some length: the last one ends at cursor
        pieces.append(Piece(first.start, first.end, first.evidence_id))
        shown[first.evidence_id] = first.end
    for segment in recording.segments[1:]:
        if segment.start > cursor:
            gaps.append(Gap(cursor, segment.start, covering.evidence_id, segment.evidence_id))
            pieces.append(Piece(cursor, segment.start, None))
        elif segment.start < cursor:
            if segment.end > segment.start:
                overlaps.append(Overlap(segment.start, min(cursor, segment.end),
                                        covering.evidence_id, segment.evidence_id))
            if segment.end <= cursor:
                continue  # wholly inside what is already shown: left out of the joined file
            last = pieces.pop()  # the later segment wins: cut the last piece at its start
            assert last.evidence_id is not None and last.end == cursor
            shown.pop(last.evidence_id)
            if last.start < segment.start:
                pieces.append(Piece(last.start, segment.start, last.evidence_id))
                shown[last.evidence_id] = segment.start
        if segment.end > segment.start:
            pieces.append(Piece(segment.start, segment.end, segment.evidence_id))
            shown[segment.evidence_id] = segment.end
        if segment.end >= cursor:
            cursor, covering = segment.end, segment
    placed = tuple(PlacedSegment(s, shown.get(s.evidence_id, s.start)) for s in recording.segments)
    return Timeline(recording, placed, tuple(gaps), tuple(overlaps), tuple(pieces))


def _decimal_seconds(microseconds: int) -> str:
    sign = "-" if microseconds < 0 else ""
    whole, fraction = divmod(abs(microseconds), 1_000_000)
    return f"{sign}{whole}.{fraction:06d}".rstrip("0").rstrip(".")
