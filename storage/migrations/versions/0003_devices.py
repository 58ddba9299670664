"""device registry; evidence deletion time

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("serial", sa.String(64), primary_key=True),
        sa.Column("officer_no", sa.String(64), nullable=True),
        sa.Column("officer_name", sa.Text, nullable=True),
        sa.Column("unit", sa.Text, nullable=True),
        sa.Column("label", sa.String(128), nullable=True, unique=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("deleted_at")
    op.drop_table("devices")
