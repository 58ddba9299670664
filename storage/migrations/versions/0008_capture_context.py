"""capture context of each file, and the unit footage and recorders belong to

Revision ID: 0008
Revises: 0007

The start time of a file depends on the recorder's clock offset, the station's
time zone and the file's modification time on the recorder. They are kept with
the record, so a later run (making derivatives, say) computes the same start
time as the run that copied the file. ``source_mtime`` was kept inside
``media_json`` before; it is copied into its column here. ``unit_code`` names
the unit footage and recorders belong to (the organisation tables and the
backfill come in 0009).
"""

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("unit_code", sa.String(32), nullable=True))
        batch.add_column(sa.Column("clock_offset_seconds", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("station_tz", sa.String(64), nullable=True))
        batch.add_column(sa.Column("source_mtime", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_evidence_unit_code", ["unit_code"])
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("unit_code", sa.String(32), nullable=True))
    evidence = sa.table("evidence", sa.column("id", sa.String),
                        sa.column("media_json", sa.Text),
                        sa.column("source_mtime", sa.DateTime(timezone=True)))
    bind = op.get_bind()
    rows = bind.execute(sa.select(evidence.c.id, evidence.c.media_json)).all()
    for evidence_id, media_json in rows:
        try:
            mtime = json.loads(media_json or "{}").get("source_mtime")
            moment = datetime.fromisoformat(mtime) if isinstance(mtime, str) else None
        except ValueError:
            moment = None
        if moment is not None:
            bind.execute(sa.update(evidence).where(evidence.c.id == evidence_id)
                         .values(source_mtime=moment))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("unit_code")
    with op.batch_alter_table("evidence") as batch:
        batch.drop_index("ix_evidence_unit_code")
        batch.drop_column("source_mtime")
        batch.drop_column("station_tz")
        batch.drop_column("clock_offset_seconds")
        batch.drop_column("unit_code")
