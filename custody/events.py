"""Custody events and their canonical bytes.

An event is a JSON object in RFC 8785 (JCS) canonical form. We encode with
orjson (sorted keys, compact, UTF-8) and restrict values to the domain where
that output is byte-identical to RFC 8785: ASCII object keys (so UTF-16 and
code-point key order agree), NFC strings, integers within +/-(2**53 - 1) and
no floats. ``tests/test_events.py`` pins the equality against the ``rfc8785``
reference package with hypothesis; orjson is used because the reference
encoder costs ~28 us per event, over the whole append budget.

The decoder accepts only bytes that re-encode to themselves: key order,
whitespace, duplicate keys, escapes, floats and non-NFC text all fail.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from domain.errors import EvidenceError
from domain.messages import msg

EVENT_VERSION = "evidence-custody/v1"
MAX_EVENT_BYTES = 65535  # tlog-tiles entry bundles use a 16-bit length prefix
MAX_SAFE_INT = 2**53 - 1
# Matched with fullmatch: "$" would let a trailing newline through, and "\d" any
# Unicode digit.
TYPE_PATTERN = re.compile(r"[a-z0-9_-]+(?::[a-z0-9_-]+)+")
TIME_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")
_TOP_FIELDS = frozenset({"v", "seq", "prev", "type", "actor", "subject", "time", "details"})

JSON = None | bool | int | str | list["JSON"] | dict[str, "JSON"]


class EventError(EvidenceError):
    """An event is malformed or not in canonical form."""


@dataclass(frozen=True)
class Subject:
    """The evidence an event is about."""

    evidence_id: str
    sha256: str

    def to_json(self) -> dict[str, JSON]:
        return {"evidence_id": self.evidence_id, "sha256": self.sha256}


@dataclass(frozen=True)
class EventDraft:
    """What a caller asks to record; the log assigns ``seq`` and ``prev``."""

    type: str
    actor: str
    subject: Subject | None = None
    details: Mapping[str, JSON] = field(default_factory=dict)
    time: datetime | None = None


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z`` suffix; naive datetimes are refused."""
    if moment.tzinfo is None:
        raise EventError(msg("event time has no timezone"), hint=msg("pass an aware UTC datetime"))
    moment = moment.astimezone(UTC)
    text = moment.replace(tzinfo=None).isoformat(timespec="seconds")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_time(text: str) -> datetime:
    if not TIME_PATTERN.fullmatch(text):
        raise EventError(msg("time {text!r} is not RFC 3339 UTC (YYYY-MM-DDThh:mm:ss[.f]Z)", text=text))
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def normalise(value: Any, path: str = "$") -> JSON:
    """Return ``value`` inside the canonical domain (NFC strings) or raise."""
    kind = type(value)
    if kind is str:  # the common case first: ASCII text is already NFC
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if kind is dict:
        out: dict[str, JSON] = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                raise EventError(msg("{path}: object key {key!r} must be an ASCII string", path=path,
                                     key=key))
            item_kind = type(item)
            # ASCII text and safe integers, most of any event, need no call of their own
            if (item_kind is str and item.isascii()) or (
                    item_kind is int and -MAX_SAFE_INT <= item <= MAX_SAFE_INT):
                out[key] = item
            else:
                out[key] = normalise(item, f"{path}.{key}")
        return out
    if value is None or isinstance(value, bool):
        return value  # type: ignore[no-any-return,unused-ignore]
    if isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise EventError(msg("{path}: integer {value} is outside +/-(2**53-1)", path=path, value=value),
                             hint=msg("store it as a decimal string"))
        return value
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, float):
        raise EventError(msg("{path}: floats are not allowed in custody events", path=path),
                         hint=msg("use integers (e.g. milliseconds) or decimal strings"))
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Mapping):
        return normalise(dict(value), path)
    if isinstance(value, list | tuple):
        return [normalise(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise EventError(msg("{path}: {name} cannot be stored in a custody event", path=path,
                         name=type(value).__name__))


def canonical_bytes(obj: Mapping[str, JSON]) -> bytes:
    """Canonical bytes of an object already inside the domain (see ``normalise``)."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def prepare_event(draft: EventDraft) -> dict[str, JSON]:
    """Validate and normalise a draft: everything of the event but v, seq, prev and
    (when the draft has none) the time, which the log fills in when it sequences it."""
    if not TYPE_PATTERN.fullmatch(draft.type):
        raise EventError(msg("event type {type!r} is not namespaced", type=draft.type),
                         hint=msg("use lower-case parts joined by ':', e.g. evidence:file:ingested"))
    if not draft.actor:
        raise EventError(msg("event has no actor"), hint=msg("name the user, station or job acting"))
    return normalise({  # type: ignore[return-value]
        "type": str(draft.type),  # a StrEnum member becomes its plain value
        "actor": draft.actor,
        "subject": draft.subject.to_json() if draft.subject else None,
        "time": format_time(draft.time) if draft.time else None,
        "details": draft.details,
    })


def finish_event(prepared: Mapping[str, JSON], seq: int, prev: str | None, now_text: str) -> bytes:
    """The exact leaf bytes of a prepared draft at position ``seq`` after ``prev``."""
    event = {"v": EVENT_VERSION, "seq": seq, "prev": prev, **prepared}
    if event["time"] is None:
        event["time"] = now_text
    data = canonical_bytes(event)
    if len(data) > MAX_EVENT_BYTES:
        raise EventError(
            msg("event of type {type} is {data_count} bytes, over the {max_event_bytes} limit",
                type=prepared['type'], data_count=len(data), max_event_bytes=MAX_EVENT_BYTES),
            hint=msg("store bulky details as a custody document and put its SHA-256 in the event"),
        )
    return data


# The widest seq, prev and time an event can be given: a prepared draft that fits
# with these fits wherever it is sequenced.
_WIDEST = (MAX_SAFE_INT, "0" * 64, "0000-00-00T00:00:00.000000001Z")


def check_fits(prepared: Mapping[str, JSON]) -> None:
    """Raise now, not when it is sequenced, if the event could exceed the size limit."""
    finish_event(prepared, *_WIDEST)


def build_event(draft: EventDraft, seq: int, prev: str | None, now: datetime,
                now_text: str | None = None) -> bytes:
    """The exact leaf bytes for ``draft`` at position ``seq`` after ``prev``.

    ``now_text`` is ``format_time(now)`` when the caller already has it (a batch).
    """
    return finish_event(prepare_event(draft), seq, prev, now_text or format_time(now))


def _check_domain(value: Any, path: str) -> None:
    if isinstance(value, float):
        raise EventError(msg("{path}: floats are not canonical custody values", path=path))
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int) and not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
        raise EventError(msg("{path}: integer outside +/-(2**53-1)", path=path))
    if isinstance(value, str) and not unicodedata.is_normalized("NFC", value):
        raise EventError(msg("{path}: text is not in Unicode NFC form", path=path))
    if isinstance(value, dict):
        for key, item in value.items():
            if not key.isascii():
                raise EventError(msg("{path}: object key {key!r} is not ASCII", path=path, key=key))
            _check_domain(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_domain(item, f"{path}[{i}]")


def json_scalars(value: Any) -> Iterator[Any]:
    """Every value inside decoded JSON that is not an object or an array."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        else:
            yield item


def _check_numbers(value: Any) -> None:
    """ASCII data needs no NFC check: only floats and unsafe integers can remain."""
    for item in json_scalars(value):
        kind = type(item)
        if kind is float:
            raise EventError(msg("floats are not canonical custody values"))
        if kind is int and not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
            raise EventError(msg("integer outside +/-(2**53-1)"))


def decode_event(data: bytes) -> dict[str, Any]:
    """Parse leaf bytes, refusing anything that is not exactly canonical."""
    if len(data) > MAX_EVENT_BYTES:
        raise EventError(msg("entry is {data_count} bytes, over the {max_event_bytes} limit",
                             data_count=len(data), max_event_bytes=MAX_EVENT_BYTES))
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise EventError(msg("entry is not valid UTF-8 JSON: {reason}", reason=exc)) from None
    if not isinstance(obj, dict):
        raise EventError(msg("entry is not a JSON object"))
    if orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) != data:
        raise EventError(msg("entry bytes are not in RFC 8785 canonical form (key order, whitespace, "
                             "escapes or a duplicate key)"))
    if data.isascii():
        _check_numbers(obj)
    else:
        _check_domain(obj, "$")
    _check_schema(obj)
    return obj


def _check_schema(obj: dict[str, Any]) -> None:
    if obj.keys() != _TOP_FIELDS:
        missing = sorted(_TOP_FIELDS - obj.keys())
        extra = sorted(obj.keys() - _TOP_FIELDS)
        raise EventError(msg("entry fields differ from the schema (missing {missing}, extra {extra})",
                             missing=missing, extra=extra))
    if obj["v"] != EVENT_VERSION:
        raise EventError(msg("unknown event version {v!r}", v=obj['v']))
    seq, prev = obj["seq"], obj["prev"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise EventError(msg("entry seq is not a non-negative integer"))
    if prev is not None and not (isinstance(prev, str) and _HEX64_RE.fullmatch(prev)):
        raise EventError(msg("entry prev is not null or a lower-case hex SHA-256"))
    if not isinstance(obj["type"], str) or not TYPE_PATTERN.fullmatch(obj["type"]):
        raise EventError(msg("entry type is not a namespaced string"))
    if not isinstance(obj["actor"], str) or not obj["actor"]:
        raise EventError(msg("entry actor is empty"))
    subject = obj["subject"]
    if subject is not None and not (isinstance(subject, dict)
                                    and isinstance(subject.get("evidence_id"), str)
                                    and isinstance(subject.get("sha256"), str)):
        raise EventError(msg("entry subject is not null or {{evidence_id, sha256}}"))
    if not isinstance(obj["time"], str) or not TIME_PATTERN.fullmatch(obj["time"]):
        raise EventError(msg("entry time is not RFC 3339 UTC"))
    if not isinstance(obj["details"], dict):
        raise EventError(msg("entry details is not an object"))
