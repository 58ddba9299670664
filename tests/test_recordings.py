"""group_recordings(): joining segments, reporting gaps and overlaps, stable ids."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import MediaError
from media.recordings import Recording, Segment, group_recordings, recording_id_for, timeline

T0 = datetime(2024, 3, 15, 1, 30, tzinfo=UTC)
TEN_MINUTES_MS = 600_000


def seg(
    evidence_id: str,
    start_s: float,
    duration_s: float,
    *,
    device: str | None = "ZFY0001",
    sequence: int | None = None,
) -> Segment:
    return Segment(
        evidence_id=evidence_id,
        device=device,
        start=T0 + timedelta(seconds=start_s),
        duration_ms=round(duration_s * 1000),
        sequence=sequence,
    )


def test_back_to_back_ten_minute_segments_are_one_continuous_recording() -> None:
    segments = [seg(f"e{i}", i * 600, 600, sequence=i + 1) for i in range(3)]
    [recording] = group_recordings(list(reversed(segments)))
    assert [s.evidence_id for s in recording.segments] == ["e0", "e1", "e2"]
    assert (recording.start, recording.end) == (T0, T0 + timedelta(minutes=30))
    assert recording.continuous


def test_small_gap_joins_but_is_reported_exactly() -> None:
    # The recorder image's shape: 3 s, 3 s, then 4 s of nothing, then 3 s.
    segments = [seg("a", 0, 3, sequence=1), seg("b", 3, 3, sequence=2), seg("c", 10, 3)]
    [recording] = group_recordings(segments)
    [gap] = recording.gaps
    assert (gap.start, gap.end) == (T0 + timedelta(seconds=6), T0 + timedelta(seconds=10))
    assert gap.seconds == 4
    assert (gap.before_evidence_id, gap.after_evidence_id) == ("b", "c")
    assert gap.to_record()["seconds"] == "4"
    assert not recording.continuous


@pytest.mark.parametrize(
    ("gap_s", "reported"), [(0, False), (1.5, False), (2, False), (2.001, True), (250, True)]
)
def test_tolerance_decides_which_gaps_are_reported(gap_s: float, reported: bool) -> None:
    [recording] = group_recordings([seg("a", 0, 60), seg("b", 60 + gap_s, 60)])
    assert bool(recording.gaps) is reported
    if reported:
        assert recording.gaps[0].seconds == Fraction(round(gap_s * 1000), 1000)


def test_long_gap_without_consecutive_sequence_starts_a_new_recording() -> None:
    recordings = group_recordings([seg("a", 0, 60, sequence=1), seg("b", 60 + 301, 60, sequence=1)])
    assert [[s.evidence_id for s in r.segments] for r in recordings] == [["a"], ["b"]]
    assert all(r.continuous for r in recordings)


def test_consecutive_sequence_joins_across_a_long_gap_and_reports_it() -> None:
    segments = [seg("a", 0, 600, sequence=7), seg("b", 600 + 3600, 600, sequence=8)]
    [recording] = group_recordings(segments)
    assert recording.gaps[0].seconds == 3600
    split = group_recordings(segments, join_consecutive_sequences=False)
    assert len(split) == 2


def test_max_join_gap_is_configurable() -> None:
    segments = [seg("a", 0, 60), seg("b", 60 + 120, 60)]
    assert len(group_recordings(segments)) == 1
    assert len(group_recordings(segments, max_join_gap_seconds=60)) == 2


def test_overlap_is_reported() -> None:
    [recording] = group_recordings([seg("a", 0, 600), seg("b", 590, 600)])
    [overlap] = recording.overlaps
    assert (overlap.start, overlap.end) == (T0 + timedelta(seconds=590), T0 + timedelta(seconds=600))
    assert overlap.seconds == 10
    assert (overlap.earlier_evidence_id, overlap.later_evidence_id) == ("a", "b")
    assert recording.end == T0 + timedelta(seconds=1190)


def test_segment_inside_another_is_an_overlap_not_a_gap() -> None:
    [recording] = group_recordings([seg("long", 0, 600), seg("short", 100, 10), seg("n", 600, 5)])
    assert recording.gaps == ()
    assert recording.overlaps[0].seconds == 10
    assert recording.end == T0 + timedelta(seconds=605)


def test_missing_sequence_numbers_are_reported() -> None:
    segments = [seg("a", 0, 600, sequence=1), seg("b", 600, 600, sequence=2),
                seg("e", 1400, 600, sequence=5)]  # fmt: skip
    [recording] = group_recordings(segments)
    assert recording.missing_sequences == ((3, 4),)
    assert recording.gaps[0].seconds == 200


def test_devices_are_never_mixed_and_unknown_devices_never_joined() -> None:
    segments = [
        seg("a1", 0, 60, device="A"),
        seg("b1", 0, 60, device="B"),
        seg("a2", 60, 60, device="A"),
        seg("x1", 0, 60, device=None),
        seg("x2", 60, 60, device=None),
    ]
    recordings = group_recordings(segments)
    grouped = sorted(tuple(s.evidence_id for s in r.segments) for r in recordings)
    assert grouped == [("a1", "a2"), ("b1",), ("x1",), ("x2",)]


def test_recording_id_is_stable_when_later_segments_arrive() -> None:
    first = group_recordings([seg("a", 0, 600)])[0].recording_id
    more = group_recordings([seg("a", 0, 600), seg("b", 600, 600)])[0].recording_id
    assert first == more == recording_id_for("ZFY0001", "a")
    earlier = group_recordings([seg("z", -600, 600), seg("a", 0, 600)])[0].recording_id
    assert earlier != first
    assert recording_id_for("OTHER", "a") != first


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ([seg("a", 0, 1), seg("a", 5, 1)], "listed twice"),
        ([Segment("a", "D", datetime(2024, 1, 1), 1000)], "time zone"),
        ([Segment("a", "D", T0, -1)], "negative duration"),
    ],
)
def test_bad_input_is_refused(segments: list[Segment], message: str) -> None:
    with pytest.raises(MediaError, match=message):
        group_recordings(segments)


def _floats_in(value: object) -> list[object]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats_in(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats_in(v)]
    return []


def test_records_are_json_without_floats() -> None:
    [recording] = group_recordings([seg("a", 0, 10), seg("b", 12.5, 10), seg("c", 20, 10)])
    records = [g.to_record() for g in recording.gaps] + [o.to_record() for o in recording.overlaps]
    assert [(r["seconds"], r["milliseconds"]) for r in records] == [("2.5", 2500), ("2.5", 2500)]
    assert _floats_in(orjson.loads(orjson.dumps(records))) == []


# --- properties -------------------------------------------------------------------

segment_lists = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", None]),
        st.integers(0, 4 * 3600 * 1000),  # start offset, ms
        st.integers(0, 15 * 60 * 1000),  # duration, ms
        st.one_of(st.none(), st.integers(0, 20)),
    ),
    max_size=25,
).map(
    lambda rows: [
        Segment(f"e{i}", device, T0 + timedelta(milliseconds=start), duration, sequence)
        for i, (device, start, duration, sequence) in enumerate(rows)
    ]
)
options = st.fixed_dictionaries(
    {
        "max_gap_seconds": st.integers(0, 5),
        "max_join_gap_seconds": st.integers(0, 900),
        "join_consecutive_sequences": st.booleans(),
    }
)


def _uncovered(recording: Recording, tolerance: timedelta) -> list[tuple[datetime, datetime]]:
    """Holes in the union of the recording's segments longer than the tolerance."""
    intervals = sorted((s.start, s.end) for s in recording.segments)
    holes, covered_to = [], intervals[0][1]
    for start, end in intervals[1:]:
        if start - covered_to > tolerance:
            holes.append((covered_to, start))
        covered_to = max(covered_to, end)
    return holes


@settings(max_examples=300, deadline=None)
@given(segment_lists, options)
def test_every_segment_is_in_exactly_one_recording(segments: list[Segment], kwargs: dict[str, int]) -> None:
    recordings = group_recordings(segments, **kwargs)  # type: ignore[arg-type]
    placed = [s.evidence_id for r in recordings for s in r.segments]
    assert sorted(placed) == sorted(s.evidence_id for s in segments)
    assert len(placed) == len(set(placed))
    for recording in recordings:
        assert {s.device for s in recording.segments} == {recording.device}
        assert recording.start == min(s.start for s in recording.segments)
        assert recording.end == max(s.end for s in recording.segments)


@settings(max_examples=300, deadline=None)
@given(segment_lists, options)
def test_gaps_are_the_real_holes_and_recordings_of_a_device_do_not_overlap(
    segments: list[Segment], kwargs: dict[str, int]
) -> None:
    recordings = group_recordings(segments, **kwargs)  # type: ignore[arg-type]
    tolerance = timedelta(seconds=kwargs["max_gap_seconds"])
    for recording in recordings:
        assert [(g.start, g.end) for g in recording.gaps] == _uncovered(recording, tolerance)
        for gap in recording.gaps:
            assert gap.seconds == Fraction((gap.end - gap.start) // timedelta(microseconds=1),
                                           10**6)  # fmt: skip
            assert gap.seconds > kwargs["max_gap_seconds"]
        ordered = sorted(recording.segments, key=lambda s: s.start)
        running_end = ordered[0].end
        deep_overlap = False
        for segment in ordered[1:]:
            deep_overlap |= min(running_end, segment.end) - segment.start > tolerance
            running_end = max(running_end, segment.end)
        assert bool(recording.overlaps) == deep_overlap  # every overlap flagged, no false ones
    by_device: dict[str | None, list[Recording]] = {}
    for recording in recordings:
        by_device.setdefault(recording.device, []).append(recording)
    for device, own in by_device.items():
        if device is None:
            continue
        own.sort(key=lambda r: r.start)
        for earlier, later in itertools.pairwise(own):
            assert earlier.end <= later.start


# --- the timeline: every gap and overlap exactly, and the joined file's plan ----------

def test_timeline_shows_a_short_gap_the_recording_tolerates() -> None:
    """A 1.5 s hole is within the 2 s tolerance of the recording's report, but the timeline
    and the joined file still show it: time after it stays on the wall clock."""
    [recording] = group_recordings([seg("a", 0, 10), seg("b", 11.5, 5)])
    assert recording.gaps == ()
    line = timeline(recording)
    assert [(g.start, g.end) for g in line.gaps] == [(T0 + timedelta(seconds=10),
                                                     T0 + timedelta(seconds=11.5))]
    assert [(p.evidence_id, p.microseconds) for p in line.pieces] == [
        ("a", 10_000_000), (None, 1_500_000), ("b", 5_000_000)]
    assert line.offset_microseconds(line.segments[1].segment.start) == 11_500_000


def test_timeline_overlap_the_later_segment_wins_and_a_nested_one_is_left_out() -> None:
    [recording] = group_recordings([seg("a", 0, 10), seg("b", 8, 10), seg("c", 9, 2)])
    line = timeline(recording)
    assert [(p.evidence_id, p.start, p.end) for p in line.pieces] == [
        ("a", T0, T0 + timedelta(seconds=8)), ("b", T0 + timedelta(seconds=8),
                                               T0 + timedelta(seconds=18))]
    assert [(o.earlier_evidence_id, o.later_evidence_id, o.microseconds) for o in line.overlaps] == [
        ("a", "b", 2_000_000), ("b", "c", 2_000_000)]
    assert [p.in_joined_file for p in line.segments] == [True, True, False]


dense_segment_lists = st.lists(  # one device, crowded: many overlaps, nested and zero-length
    st.tuples(st.integers(0, 60_000), st.integers(0, 20_000), st.one_of(st.none(), st.integers(0, 5))),
    min_size=1, max_size=12,
).map(lambda rows: [Segment(f"e{i}", "A", T0 + timedelta(milliseconds=start), duration, sequence)
                    for i, (start, duration, sequence) in enumerate(rows)])


@settings(max_examples=400, deadline=None)
@given(st.one_of(segment_lists, dense_segment_lists), options)
def test_timeline_pieces_gaps_and_overlaps_tile_the_span_exactly(
    segments: list[Segment], kwargs: dict[str, int]
) -> None:
    tolerance = timedelta(seconds=kwargs["max_gap_seconds"])
    for recording in group_recordings(segments, **kwargs):  # type: ignore[arg-type]
        line = timeline(recording)
        span = (recording.end - recording.start) // timedelta(microseconds=1)
        durations = sum(s.duration_ms for s in recording.segments) * 1000
        shown = sum(p.shown_microseconds for p in line.segments)
        gaps = sum(g.microseconds for g in line.gaps)
        overlaps = sum(o.microseconds for o in line.overlaps)
        assert shown + gaps == span
        assert shown + overlaps == durations
        # the pieces are contiguous from start to end, and the gap pieces are the gaps
        edges = [recording.start, *(p.end for p in line.pieces)]
        assert [p.start for p in line.pieces] == edges[:-1]
        assert edges[-1] == recording.end
        assert [(p.start, p.end) for p in line.pieces if p.evidence_id is None] == \
            [(g.start, g.end) for g in line.gaps] == _uncovered(recording, timedelta(0))
        # a segment's piece is its own time from its own start: t into the file is start + t
        by_id = {s.evidence_id: s for s in recording.segments}
        for piece in line.pieces:
            if piece.evidence_id is not None:
                placed = by_id[piece.evidence_id]
                assert placed.start == piece.start < piece.end <= placed.end
        assert sum(p.microseconds for p in line.pieces) == span
        assert {p.evidence_id for p in line.pieces} - {None} == \
            {p.segment.evidence_id for p in line.segments if p.in_joined_file}
        # the recording's report is the timeline's gaps and overlaps past the tolerance
        assert [(g.start, g.end) for g in line.gaps if g.end - g.start > tolerance] == \
            [(g.start, g.end) for g in recording.gaps]
        assert [(o.start, o.end) for o in line.overlaps if o.end - o.start > tolerance] == \
            [(o.start, o.end) for o in recording.overlaps]
