"""Canonical event bytes: equal to the RFC 8785 reference, and strict decoding."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.events import (
    MAX_EVENT_BYTES,
    MAX_SAFE_INT,
    EventDraft,
    EventError,
    Subject,
    build_event,
    canonical_bytes,
    decode_event,
    normalise,
)

NOW = datetime(2026, 11, 27, 9, 47, 21, tzinfo=UTC)

ascii_keys = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INT, MAX_SAFE_INT)
    | st.text(st.characters(blacklist_categories=["Cs"]), max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ascii_keys, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400)
@given(json_values)
def test_our_encoding_is_byte_identical_to_rfc8785(value: object) -> None:
    normal = normalise({"x": value})
    assert canonical_bytes(normal) == rfc8785.dumps(normal)  # type: ignore[arg-type]


def _event(**details: Any) -> bytes:  # Any: tests feed values outside the domain on purpose
    draft = EventDraft("evidence:file:ingested", "station:7", Subject("ev1", "ab" * 32), details)
    return build_event(draft, 0, None, NOW)


def test_round_trip_and_fields() -> None:
    data = _event(size=12, name="执法记录.mp4")
    event = decode_event(data)
    assert event["seq"] == 0 and event["prev"] is None
    assert event["time"] == "2026-11-27T09:47:21Z"
    assert event["details"]["name"] == "执法记录.mp4"


def test_text_is_normalised_to_nfc_on_append() -> None:
    nfd = unicodedata.normalize("NFD", "café")
    assert decode_event(_event(name=nfd))["details"]["name"] == "café"


@pytest.mark.parametrize("mutate, why", [
    (lambda d: d.replace(b'{"actor"', b'{ "actor"'), "whitespace"),
    (lambda d: orjson.dumps(dict(reversed(list(orjson.loads(d).items())))), "key order"),
    (lambda d: d.replace(b'"details":{', b'"details":{"a":1,"a":1,', 1), "duplicate key"),
    (lambda d: d.replace("café".encode(), unicodedata.normalize("NFD", "café").encode()), "NFD"),
    (lambda d: d.replace(b'"n":1', b'"n":1.0'), "float"),
    (lambda d: d.replace(b'"n":1', b'"n":1.5'), "float"),
    (lambda d: d.replace(b'"n":1', b'"n":9007199254740993'), "unsafe integer"),
    (lambda d: d.replace(b'"n":1', b'"n":1e0'), "exponent"),
    (lambda d: d.replace(b'"caf\xc3\xa9"', b'"caf\\u00e9"'), "needless escape"),
    (lambda d: d.replace(b'"seq":0', b'"seq":-1'), "negative seq"),
    (lambda d: d.replace(b'"type":"evidence:file:ingested"', b'"type":"ingested"'), "type"),
    (lambda d: d.replace(b'"time":"2026-11-27T09:47:21Z"', b'"time":"2026-11-27 09:47"'), "time"),
    (lambda d: d.replace(b'09:47:21Z"', b'09:47:21Z\\n"'), "time with a trailing newline"),
    (lambda d: d.replace(b'"2026-', "\"٢٠٢٦-".encode()), "time in Arabic-Indic digits"),
    (lambda d: d.replace(b'file:ingested"', b'file:ingested\\n"'), "type with a trailing newline"),
    (lambda d: d.replace(b'"prev":null', b'"prev":"' + b"ab" * 32 + b'\\n"'),
     "prev with a trailing newline"),
    (lambda d: d[:-1], "truncated"),
    (lambda d: d.replace(b'{"actor"', b'{"extra":1,"actor"'), "unknown field"),
])
def test_decoder_rejects_non_canonical_bytes(mutate: object, why: str) -> None:
    data = _event(n=1, name="café")
    bad = mutate(data)  # type: ignore[operator]
    assert bad != data, f"mutation {why} did not change the bytes"
    with pytest.raises(EventError):
        decode_event(bad)


@pytest.mark.parametrize("value", [1.5, 2**53, float("nan"), object(), b"bytes"])
def test_values_outside_the_domain_are_refused_on_append(value: object) -> None:
    with pytest.raises(EventError):
        _event(v=value)


def test_non_ascii_keys_are_refused() -> None:
    with pytest.raises(EventError, match="ASCII"):
        _event(**{"名": 1})


def test_oversized_event_is_refused_with_advice() -> None:
    with pytest.raises(EventError, match="custody document"):
        _event(blob="x" * MAX_EVENT_BYTES)


def test_times_must_be_aware_and_are_written_in_utc() -> None:
    with pytest.raises(EventError, match="timezone"):
        build_event(EventDraft("a:b", "me", time=datetime(2026, 1, 1)), 0, None, NOW)
    beijing = timezone(timedelta(hours=8))
    data = build_event(EventDraft("a:b", "me", time=datetime(2026, 1, 1, 8, tzinfo=beijing)),
                       0, None, NOW)
    assert decode_event(data)["time"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("bad_type", ["ingested", "Evidence:File", "a::b", "a:b c", "a:b\n"])
def test_event_types_must_be_namespaced(bad_type: str) -> None:
    with pytest.raises(EventError, match="namespaced"):
        build_event(EventDraft(bad_type, "me"), 0, None, NOW)
