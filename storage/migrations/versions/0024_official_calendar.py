"""the official calendar: years entered by an admin from the State Council's notice

Revision ID: 0024
Revises: 0023

A year the chinese-calendar library does not know yet (its holidays and adjusted working
days, 调休) is entered from the State Council's notice (cases/calendar_admin.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("notice", sa.Text, nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("year", sa.Integer, sa.ForeignKey("calendar_years.year"), nullable=False),
        sa.Column("working", sa.Boolean, nullable=False),
    )
    op.create_index("ix_calendar_days_year", "calendar_days", ["year"])


def downgrade() -> None:
    op.drop_index("ix_calendar_days_year", table_name="calendar_days")
    op.drop_table("calendar_days")
    op.drop_table("calendar_years")
