"""HTTP Range requests (RFC 9110 §14) for one stored representation.

* No ``Range``, or a ``Range`` this module does not understand (another unit,
  bad syntax, ``first > last``): the whole representation, 200.
* ``If-Range`` that is not exactly our strong ETag (a weak tag, a date, another
  tag): the Range is ignored, 200 with everything (§13.1.5).
* One range (``a-b``, ``a-``, ``-n``): 206 with that slice, clamped to the end.
* A range starting at or past the end, or ``-0``, or any range of an empty
  representation: 416 with ``Content-Range: bytes */size``.
* A position written with more than 19 digits (past any file we could hold,
  and past what ``int()`` parses, thousands of digits raise ValueError): 416,
  decided on the text's length before any number is parsed.
* Several ranges: we do not send ``multipart/byteranges``; the Range is ignored
  and the whole representation is sent with 200, which §14.2 allows. Players
  ask for one range at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from domain.errors import EvidenceError
from domain.messages import msg

_SPEC = re.compile(r"^(?:([0-9]+)-([0-9]*)|-([0-9]+))$")
_MAX_DIGITS = 19  # 10**19 bytes is past any object; longer numbers are never parsed


class RangeNotSatisfiable(EvidenceError):
    """No byte of the requested range exists (HTTP 416)."""

    def __init__(self, size: int) -> None:
        super().__init__(msg("the requested range is outside the {size} bytes of this file",
                             size=size),
                         hint=msg("ask for bytes 0 to {last}", last=size - 1) if size
                         else msg("the file is empty"))
        self.size = size


class Outcome(Enum):
    FULL = "full"
    PARTIAL = "partial"


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive

    @property
    def length(self) -> int:
        return self.end - self.start

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{size}"


@dataclass(frozen=True)
class RangeDecision:
    outcome: Outcome
    range: ByteRange


def strong_etag(sha256_hex: str) -> str:
    return f'"{sha256_hex}"'


def decide(range_header: str | None, if_range: str | None, etag: str, size: int) -> RangeDecision:
    """What to send for these request headers; raises RangeNotSatisfiable for 416."""
    whole = RangeDecision(Outcome.FULL, ByteRange(0, size))
    if range_header is None:
        return whole
    if if_range is not None and if_range.strip() != etag:
        return whole
    unit, _, specs = range_header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return whole
    parts = [part.strip() for part in specs.split(",")]
    if len(parts) != 1:
        return whole
    match = _SPEC.fullmatch(parts[0])
    if match is None:
        return whole
    first, last, suffix = match.groups()
    if any(len(number) > _MAX_DIGITS for number in (first, last, suffix) if number):
        raise RangeNotSatisfiable(size)
    if suffix is not None:
        length = int(suffix)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return RangeDecision(Outcome.PARTIAL, ByteRange(max(0, size - length), size))
    start = int(first)
    if last and int(last) < start:
        return whole  # an invalid range-spec is ignored, like one we do not understand
    if start >= size:
        raise RangeNotSatisfiable(size)
    end = size if not last else min(int(last) + 1, size)
    return RangeDecision(Outcome.PARTIAL, ByteRange(start, end))
