"""audit and administration: the event index learns type, actor and time; verify jobs; retired
recorders

Revision ID: 0014
Revises: 0010

``custody_subjects`` (derived from the log's own bytes) now holds a row for every entry,
with its type, actor and time, so the events of an item, of a case or of the whole log can
be filtered by them. The index is emptied here and rebuilt from the entries the first time
anyone reads events after the upgrade (about 10 s per million entries).

``verify_jobs`` records each verify run in the background: who asked, its phase and
progress, and the report. ``active`` is 1 while a job is queued or running and NULL
after, and is unique: one verify at a time for a database, however many server processes.

``devices`` gets ``retired_at``, ``retired_by`` and ``retired_reason``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"


def upgrade() -> None:
    with op.batch_alter_table("custody_subjects") as batch:
        batch.add_column(sa.Column("type", sa.Text, nullable=True))
        batch.add_column(sa.Column("actor", sa.Text, nullable=True))
        batch.add_column(sa.Column("time", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_custody_subjects_type", "custody_subjects", ["type"])
    op.create_index("ix_custody_subjects_actor", "custody_subjects", ["actor"])
    # rebuilt from the log, with the new columns, when it is next read
    op.execute(sa.text("DELETE FROM custody_subjects"))
    op.execute(sa.text("UPDATE custody_subjects_head SET indexed = 0"))
    op.create_table(
        "verify_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("active", sa.Integer, nullable=True, unique=True),
        sa.Column("objects", sa.Boolean, nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("phase", sa.String(32), nullable=True),
        sa.Column("checked", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=True),
        sa.Column("ok", sa.Boolean, nullable=True),
        sa.Column("report", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_verify_jobs_requested_at", "verify_jobs", ["requested_at"])
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("retired_by", sa.String(128), nullable=True))
        batch.add_column(sa.Column("retired_reason", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("retired_reason")
        batch.drop_column("retired_by")
        batch.drop_column("retired_at")
    op.drop_index("ix_verify_jobs_requested_at", "verify_jobs")
    op.drop_table("verify_jobs")
    op.drop_index("ix_custody_subjects_actor", "custody_subjects")
    op.drop_index("ix_custody_subjects_type", "custody_subjects")
    with op.batch_alter_table("custody_subjects") as batch:
        batch.drop_column("time")
        batch.drop_column("actor")
        batch.drop_column("type")
