"""Serial and officer number from GA/T 947 footage names, to identify an unregistered recorder.

A GA/T 947 recorder names each file ``<serial>_<officer no>_<YYYYMMDDhhmmss>_<seq>.<ext>``
(e.g. ``ZFY0001_100234_20240315093000_0001.MP4``). Only who made the footage is read
here; start times are the ingest's business (``ingest.names``), which devices/ must
not import.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_GAT947 = re.compile(r"(?P<serial>[A-Za-z0-9]{1,32})_(?P<officer>\d{1,12})_\d{14}_\d{1,8}")


@dataclass(frozen=True, order=True)
class NamedOwner:
    serial: str
    officer_no: str


def owner_from_name(filename: str) -> NamedOwner | None:
    """Serial and officer from one file name (folders and extension ignored), or None."""
    base = filename.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    stem = base[:dot] if dot > 0 else base
    match = _GAT947.fullmatch(stem)
    return NamedOwner(match["serial"], match["officer"]) if match else None


def likely_owner(filenames: Iterable[str]) -> NamedOwner | None:
    """The serial and officer most of the files name (ties: the smallest), or None."""
    counts = Counter(owner for name in filenames if (owner := owner_from_name(name)))
    if not counts:
        return None
    best = max(counts.values())
    return min(owner for owner, count in counts.items() if count == best)


def serials_named(filenames: Iterable[str]) -> set[str]:
    """Every recorder serial the file names mention."""
    return {owner.serial for name in filenames if (owner := owner_from_name(name))}
