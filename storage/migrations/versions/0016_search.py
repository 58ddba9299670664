"""search: the end of each item's span, indexes for the officer's search, case-number rules

Revision ID: 0016
Revises: 0015

A time search finds every item whose span [start, start + duration] overlaps the window.
``evidence.end_time`` is that span's end (the start for an item without a duration, NULL
without a start), filled here for the rows already stored; the search bounds the start from
below by the window's start minus the longest duration (``ix_evidence_duration_ms`` answers
that at once), so it reads a range of the listing index instead of the whole table.

The composite indexes give the common filters (officer, recorder, unit) the listing's order,
so a filtered first page reads its 50 rows from the index and stops; the partial index
``ix_evidence_attention`` does the same for the few rows with a flag (damaged, held, time
uncertain...), which a search by flag would otherwise look for among all of them.

Each agency may set its own rule for case numbers (``agencies.case_number_pattern``, a
regular expression, and ``case_number_rule``, the rule in words shown when a number is
refused); NULL is the default rule, which takes Chinese (朝阳刑2024-001).
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"

ORDER = ("start_time DESC", "ingested_at DESC", "id")
# cases.evidence.ATTENTION_SQL, the same text (tests/test_search.py checks): rows with a flag
ATTENTION = ("(flags <> '[]' OR legal_hold OR derivatives_state IN ('pending', 'failed') "
             "OR start_time IS NULL OR time_source IN ('container', 'file_mtime'))")
COMPOSITES = {
    "ix_evidence_officer_listing": "officer_no",
    "ix_evidence_device_listing": "device_serial",
    "ix_evidence_unit_listing": "unit_code",
}


def _order(dialect: str) -> list[sa.TextClause]:
    nulls = " NULLS LAST" if dialect == "postgresql" else ""
    return [sa.text(ORDER[0] + nulls), sa.text(ORDER[1]), sa.text(ORDER[2])]


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("end_time", sa.DateTime(timezone=True), nullable=True))
    evidence = sa.table("evidence", sa.column("id", sa.String),
                        sa.column("start_time", sa.DateTime(timezone=True)),
                        sa.column("duration_ms", sa.BigInteger),
                        sa.column("end_time", sa.DateTime(timezone=True)))
    if dialect == "postgresql":
        bind.execute(sa.text("UPDATE evidence SET end_time = start_time + "
                             "COALESCE(duration_ms, 0) * INTERVAL '1 millisecond' "
                             "WHERE start_time IS NOT NULL"))
    else:  # stored as text: computed here, so it is written in the same form as start_time
        rows = bind.execute(sa.select(evidence.c.id, evidence.c.start_time, evidence.c.duration_ms)
                            .where(evidence.c.start_time.is_not(None))).all()
        values = [{"key": row.id, "end": _end(row.start_time, row.duration_ms)} for row in rows]
        if values:
            bind.execute(sa.update(evidence).where(evidence.c.id == sa.bindparam("key"))
                         .values(end_time=sa.bindparam("end")), values)
    op.create_index("ix_evidence_duration_ms", "evidence", ["duration_ms"])
    for name, column in COMPOSITES.items():
        op.create_index(name, "evidence", [sa.text(column), *_order(dialect)])
    op.create_index("ix_evidence_attention", "evidence", _order(dialect),
                    sqlite_where=sa.text(ATTENTION), postgresql_where=sa.text(ATTENTION))
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(sa.Column("case_number_pattern", sa.Text, nullable=True))
        batch.add_column(sa.Column("case_number_rule", sa.Text, nullable=True))


def _end(start: datetime, duration_ms: int | None) -> datetime:
    moment = start if start.tzinfo else start.replace(tzinfo=UTC)
    return moment + timedelta(milliseconds=duration_ms or 0)


def downgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("case_number_rule")
        batch.drop_column("case_number_pattern")
    op.drop_index("ix_evidence_attention", table_name="evidence")
    for name in COMPOSITES:
        op.drop_index(name, table_name="evidence")
    op.drop_index("ix_evidence_duration_ms", table_name="evidence")
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("end_time")
