"""the station feed: the latest tile of every dock port (storage/station_status.py)

Revision ID: 0012
Revises: 0010

Operational state for the station screen, not evidence: rows are overwritten by the
dock and are no part of the custody log. ``station_status_seq`` holds one row, the last
sequence number handed out; it starts at 0.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_table(
        "station_status",
        sa.Column("station", sa.String(128), primary_key=True),
        sa.Column("port", sa.String(255), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("station_unit", sa.String(32), nullable=True, index=True),
        sa.Column("device_serial", sa.String(64), nullable=True),
        sa.Column("officer_no", sa.String(64), nullable=True, index=True),
        sa.Column("officer_name", sa.Text, nullable=True),
        sa.Column("recorder_unit", sa.String(32), nullable=True),
        sa.Column("identity_source", sa.String(16), nullable=True),
        sa.Column("files_total", sa.Integer, nullable=False),
        sa.Column("files_done", sa.Integer, nullable=False),
        sa.Column("files_failed", sa.Integer, nullable=False),
        sa.Column("files_wiped", sa.Integer, nullable=False),
        sa.Column("bytes_total", sa.BigInteger, nullable=False),
        sa.Column("bytes_done", sa.BigInteger, nullable=False),
        sa.Column("rate", sa.Float, nullable=False),
        sa.Column("wipe", sa.String(16), nullable=False),
        sa.Column("problem_code", sa.String(64), nullable=True),
        sa.Column("problem_params", sa.Text, nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stale_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    counter = op.create_table(
        "station_status_seq",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(counter, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("station_status_seq")
    op.drop_table("station_status")
