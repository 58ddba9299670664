"""Free text people type (titles, reasons, names, labels): one check for the CLI and the API.

What is stored is what is logged: the check returns the NFC, trimmed form, and the caller
stores and logs that one value (the custody log would otherwise normalise its copy alone).
Refused anywhere in the text: control characters, lone surrogates, line and paragraph
separators (U+2028/2029), and the bidi embeddings, overrides and isolates
(U+202A-U+202E, U+2066-U+2069) that make a reason read backwards in a report. Refused as
the whole text: nothing but white space and invisible characters (zero-width, format
characters, fillers). Format characters stay allowed inside text: Mongolian needs its
vowel separator (U+180E) and joiners.
"""

from __future__ import annotations

import unicodedata

from cases.errors import InvalidRequest
from domain.messages import msg

REASON_MAX = 500  # a reason given for viewing, exporting, holding or granting footage

# Ranges in a regex character class, valid for Python's re, the Rust regex crate (pydantic)
# and ECMAScript alike (\xHH and \uHHHH escapes only).
FORBIDDEN_CLASS = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
# White space and default-ignorable or blank characters (BMP; astral ones are checked in code).
INVISIBLE_CLASS = (r"\s\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180f"
                   r"\u2000-\u200f\u202f\u205f-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff"
                   r"\uffa0\ufff0-\ufff8\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2")
# For request schemas: no forbidden character, and at least one visible one.
TEXT_PATTERN = f"^[^{FORBIDDEN_CLASS}]*[^{FORBIDDEN_CLASS}{INVISIBLE_CLASS}][^{FORBIDDEN_CLASS}]*$"

_FORBIDDEN = frozenset([*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029,
                        *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_BLANK = frozenset([0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164,
                    0xFFA0, *range(0x180B, 0x1810), *range(0xFE00, 0xFE10), *range(0xFFF0, 0xFFF9),
                    *range(0x1BCA0, 0x1BCA4), *range(0x1D173, 0x1D17B), *range(0xE0000, 0xE1000)])


def problem(value: str) -> str | None:
    """Why ``value`` is not acceptable text (before trimming), or None."""
    for ch in value:
        point = ord(ch)
        if point in _FORBIDDEN:
            return msg("it contains the control or direction character U+{point:04X}", point=point)
        if 0xD800 <= point <= 0xDFFF:
            return msg("it contains an unpaired UTF-16 surrogate")
    if all(_invisible(ch) for ch in value):
        return msg("it has no visible character")
    return None


def _invisible(ch: str) -> bool:
    return ch.isspace() or ord(ch) in _BLANK or unicodedata.category(ch) == "Cf"


def clean_text(value: str, what: str, max_length: int) -> str:
    """``value`` in NFC, trimmed, 1..max_length characters of acceptable text; else
    InvalidRequest naming ``what`` (e.g. "case title")."""
    why = problem(value)
    if why is None:
        value = unicodedata.normalize("NFC", value).strip()
        if len(value) > max_length:
            why = msg("it is longer than {max_length} characters", max_length=max_length)
    if why is not None:
        raise InvalidRequest(msg("the {what} {value!r} is not allowed: {why}", what=what, value=value,
                                 why=why),
                             hint=msg("give 1 to {max_length} printable characters on one line, without "
                                      "control or text-direction characters", max_length=max_length))
    return value


def clean_optional(value: str | None, what: str, max_length: int) -> str | None:
    return None if value is None else clean_text(value, what, max_length)
