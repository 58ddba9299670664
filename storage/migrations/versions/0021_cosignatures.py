"""cosignatures of checkpoints by outside witnesses: custody_cosignatures

Revision ID: 0021
Revises: 0020

A C2SP tlog-witness's cosignature line on the checkpoint of a size, as it answered
(custody/cosigned.py); the witness keeps its own record too, out of the agency's reach.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"


def upgrade() -> None:
    op.create_table(
        "custody_cosignatures",
        sa.Column("witness", sa.Text, primary_key=True),
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("custody_cosignatures")
