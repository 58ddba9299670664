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


def roll_back(engine: Engine, size: int) -> None:
    """An insider's rollback with write access to the database and no key: delete the
    entries from ``size`` on and the checkpoints covering them, and recompute the derived
    tree state (subtree hashes, the head's frontier, the event index) to match."""
    from custody.merkle import CompactRange

    with engine.begin() as conn:
        kept = [bytes(h) for h in conn.execute(text(
            "SELECT leaf_hash FROM custody_entries WHERE seq < :n ORDER BY seq"), {"n": size}).scalars()]
        conn.execute(text("DELETE FROM custody_entries WHERE seq >= :n"), {"n": size})
        conn.execute(text("DELETE FROM custody_checkpoints WHERE size > :n"), {"n": size})
        for level in range(1, 48):  # a level-L node covers leaves idx*2^L .. (idx+1)*2^L - 1
            conn.execute(text("DELETE FROM custody_nodes WHERE level = :l AND (idx + 1) * :w > :n"),
                         {"l": level, "w": 1 << level, "n": size})
        frontier = CompactRange()
        for leaf_hash in kept:
            frontier.append(leaf_hash)
        conn.execute(text("UPDATE custody_head SET size = :n, frontier = :f, last_leaf_hash = :h"),
                     {"n": size, "f": frontier.to_bytes(), "h": kept[-1] if kept else None})
        conn.execute(text("DELETE FROM custody_subjects WHERE seq >= :n"), {"n": size})
        conn.execute(text("UPDATE custody_subjects_head SET indexed = :n WHERE indexed > :n"),
                     {"n": size})
