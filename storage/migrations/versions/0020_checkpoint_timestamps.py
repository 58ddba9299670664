"""RFC 3161 time-stamp tokens of checkpoints: custody_timestamps

Revision ID: 0020
Revises: 0015

A time-stamping authority outside the agency signs SHA-256 of a signed checkpoint
note; the whole response is kept, keyed by the checkpoint's size (custody/timestamps.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0015"


def upgrade() -> None:
    op.create_table(
        "custody_timestamps",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("note_sha256", sa.LargeBinary(32), nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=False),
        sa.Column("tsa", sa.Text, nullable=False),
        sa.Column("gen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("custody_timestamps")
