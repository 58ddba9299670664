"""Serial and officer number from GA/T 947 footage names, to identify an unregistered recorder.

A GA/T 947 recorder names each file ``<serial>_<officer no>_<YYYYMMDDhhmmss>_<seq>.<ext>``
(e.g. ``ZFY0001_100234_20240315093000_0001.MP4``). The name is parsed once, by
``media.names.parse_name`` (the one GA/T 947 pattern); only who made the footage is read here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from media.names import GAT947_PATTERN, parse_name


@dataclass(frozen=True, order=True)
class NamedOwner:
    serial: str
    officer_no: str


def owner_from_name(filename: str) -> NamedOwner | None:
    """Serial and officer from one file name (folders and extension ignored), or None."""
    name = parse_name(filename)
    if name is None or name.pattern != GAT947_PATTERN or not name.device_serial or not name.officer_no:
        return None
    return NamedOwner(name.device_serial, name.officer_no)


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
