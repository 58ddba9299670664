"""SQLAlchemy Core tables of the custody log.

The migration in ``storage/migrations`` creates exactly these; a test compares
them. Level-0 node hashes live in ``custody_entries.leaf_hash``; levels >= 1
hold every complete perfect subtree, so a proof reads O(log n) rows.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

entries = Table(
    "custody_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("leaf", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    # The custody_pending id a grouped append came from (custody/queue.py); else NULL.
    Column("ticket", BigInteger, nullable=True),
    # How a queued append's writer finds its entries, on a log of any size.
    Index("ix_custody_entries_ticket", "ticket", postgresql_where=text("ticket IS NOT NULL"),
          sqlite_where=text("ticket IS NOT NULL")),
)

nodes = Table(
    "custody_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

# One row (id = 1): the tree size and its right frontier. Writers lock it.
head = Table(
    "custody_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("last_leaf_hash", LargeBinary(32), nullable=True),
)

checkpoints = Table(
    "custody_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("size", BigInteger, nullable=False, index=True),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# RFC 3161 time-stamp tokens of checkpoints (custody/timestamps.py): the TSA's whole
# response, over SHA-256 of the signed checkpoint note of that size.
timestamps = Table(
    "custody_timestamps",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note_sha256", LargeBinary(32), nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("tsa", Text, nullable=False),
    Column("gen_time", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# C2SP cosignatures of checkpoints by outside witnesses (custody/cosigned.py): the
# witness's note signature line on the checkpoint of that size.
cosignatures = Table(
    "custody_cosignatures",
    metadata,
    Column("witness", Text, primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("line", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# Drafts committed by PostgreSQL writers and not yet sequenced (custody/queue.py).
pending = Table(
    "custody_pending",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
           autoincrement=True),
    Column("draft", LargeBinary, nullable=False),
    Column("enqueued_at", DateTime(timezone=True), nullable=False),
)

documents = Table(
    "custody_documents",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("body", LargeBinary, nullable=False),
)
