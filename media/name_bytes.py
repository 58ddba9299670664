"""Names that are not UTF-8 (GBK names on FAT cards): their exact bytes, and a form to show.

Python gives such a name as a ``str`` holding lone surrogates (``surrogateescape``);
JSON encoders, databases and terminals refuse those. What is kept is the name's
exact bytes (base64) beside a display form: UTF-8 if the bytes are UTF-8, else
GB18030 (a superset of GBK and GB2312), else the bytes escaped.
"""

from __future__ import annotations

import base64

FALLBACK_CODEC = "gb18030"


def raw_bytes(name: str) -> bytes:
    """The bytes the file system holds for ``name`` (as ``os.fsencode`` gives them on POSIX)."""
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate surrogateescape did not make (from a device library)
        return name.encode("utf-8", "surrogatepass")


def is_plain(name: str) -> bool:
    """True when ``name`` is proper text (no surrogates): nothing needs keeping beside it."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_name(name: str) -> str:
    """A form of ``name`` that any encoder and terminal accepts."""
    if is_plain(name):
        return name
    raw = raw_bytes(name)
    for codec in ("utf-8", FALLBACK_CODEC):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "backslashreplace")


def bytes_b64(name: str) -> str | None:
    """The name's exact bytes in base64 when it is not proper text, else None."""
    return None if is_plain(name) else base64.b64encode(raw_bytes(name)).decode("ascii")
