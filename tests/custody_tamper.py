"""Editing custody entries as an attacker with SQL access would, for the tamper tests."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, text


def leaf(engine: Engine, seq: int) -> bytes:
    with engine.connect() as conn:
        return bytes(conn.execute(text("SELECT leaf FROM custody_entries WHERE seq=:s"),
                                  {"s": seq}).scalar_one())


def put_leaf(engine: Engine, seq: int, data: bytes) -> None:
    """Replace an entry and its stored hash, so only the chain and the tree can tell."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE custody_entries SET leaf=:l, leaf_hash=:h WHERE seq=:s"),
                     {"l": data, "h": hashlib.sha256(b"\x00" + data).digest(), "s": seq})
