"""Personal data removed from text before it is published (公示): names of natural persons
as 张某, identity-card, phone, bank-card and licence-plate numbers and exact addresses masked.

Interface shared by publication (which masks a decision's record) and the masking rules.
What was masked is kept (``Masked.spans``) so a person can confirm it before publishing.

Skeleton: only the names given are masked; the masking work replaces the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MaskKind(StrEnum):
    NAME = "name"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    BANK_CARD = "bank_card"
    PLATE = "plate"
    ADDRESS = "address"


@dataclass(frozen=True)
class MaskedSpan:
    """``original`` at ``start``..``end`` of the input became ``replacement``."""

    start: int
    end: int
    kind: MaskKind
    original: str
    replacement: str


@dataclass(frozen=True)
class Masked:
    text: str
    spans: tuple[MaskedSpan, ...]


def mask_name(name: str) -> str:
    """张三 -> 张某 (the surname kept)."""
    return name[:1] + "某" if name else name


def mask_text(text: str, *, names: tuple[str, ...] = ()) -> Masked:
    """``text`` with personal data masked; ``names`` are natural persons known to appear."""
    spans: list[MaskedSpan] = []
    out = text
    for name in sorted(set(names), key=len, reverse=True):
        if not name:
            continue
        start = 0
        while (at := text.find(name, start)) >= 0:
            spans.append(MaskedSpan(at, at + len(name), MaskKind.NAME, name, mask_name(name)))
            start = at + len(name)
        out = out.replace(name, mask_name(name))
    return Masked(out, tuple(sorted(spans, key=lambda s: s.start)))
