"""The Range decision on its own: a reference model checked with hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.http.ranges import ByteRange, Outcome, RangeNotSatisfiable, decide, strong_etag

ETAG = strong_etag("ab" * 32)


def _reference(first: int | None, last: int | None, suffix: int | None,
               size: int) -> tuple[int, int] | None:
    """Bytes a single range-spec selects per RFC 9110 §14.1.2; None when unsatisfiable."""
    data = list(range(size))
    if suffix is not None:
        chosen = data[-suffix:] if suffix else []
    else:
        assert first is not None
        chosen = data[first:] if last is None else data[first:last + 1]
    if not chosen:
        return None
    return chosen[0], chosen[-1] + 1


specs = st.one_of(
    st.tuples(st.integers(0, 300), st.none(), st.none()),
    st.tuples(st.integers(0, 300), st.integers(0, 300), st.none()).filter(lambda t: t[1] >= t[0]),
    st.tuples(st.none(), st.none(), st.integers(0, 300)),
)


@given(spec=specs, size=st.integers(0, 200))
def test_a_single_range_selects_what_the_rfc_says(spec: tuple[int | None, int | None, int | None],
                                                   size: int) -> None:
    first, last, suffix = spec
    header = f"bytes=-{suffix}" if suffix is not None else f"bytes={first}-{'' if last is None else last}"
    expected = _reference(first, last, suffix, size)
    if expected is None:
        with pytest.raises(RangeNotSatisfiable) as caught:
            decide(header, None, ETAG, size)
        assert caught.value.size == size
        return
    decision = decide(header, None, ETAG, size)
    assert decision.outcome is Outcome.PARTIAL
    assert (decision.range.start, decision.range.end) == expected


@given(size=st.integers(0, 10_000), header=st.text(max_size=40))
def test_any_header_gives_a_range_inside_the_file_or_416(size: int, header: str) -> None:
    try:
        decision = decide(header, None, ETAG, size)
    except RangeNotSatisfiable:
        return
    assert 0 <= decision.range.start <= decision.range.end <= size
    if decision.outcome is Outcome.FULL:
        assert decision.range == ByteRange(0, size)
    else:
        assert decision.range.length > 0


@pytest.mark.parametrize("header", ["bytes=0-1,3-4", "bytes=5-2", "items=0-1", "bytes=",
                                    "bytes=a-b", "bytes=0-1-2", "bytes=٠-٩", "bytes=+1-2",
                                    "bytes=- 1"])
def test_multiple_invalid_or_foreign_ranges_mean_the_whole_file(header: str) -> None:
    assert decide(header, None, ETAG, 100).outcome is Outcome.FULL


@pytest.mark.parametrize("if_range", ['"other"', "W/" + ETAG, "Fri, 15 Mar 2024 01:30:00 GMT", ""])
def test_if_range_must_be_exactly_our_strong_etag(if_range: str) -> None:
    assert decide("bytes=0-9", if_range, ETAG, 100).outcome is Outcome.FULL
    assert decide("bytes=0-9", ETAG, ETAG, 100).outcome is Outcome.PARTIAL


def test_content_range_names_the_inclusive_last_byte() -> None:
    assert ByteRange(10, 20).content_range(100) == "bytes 10-19/100"


@pytest.mark.parametrize("header", ["bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000,
                                    "bytes=-" + "9" * 5000, "bytes=" + "0" * 5000 + "1-2",
                                    "bytes=" + "1" * 20 + "-"])
def test_positions_of_thousands_of_digits_are_unsatisfiable_not_a_crash(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        decide(header, None, ETAG, 100)
    assert caught.value.size == 100
