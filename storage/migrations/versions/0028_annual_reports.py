"""annual statistics (统计年报): the published, frozen reports

Revision ID: 0028
Revises: 0026

cases/annual_report.py: each agency's statistics of a year, frozen when its admin publishes
them (canonical JSON and its SHA-256).
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0026"


def upgrade() -> None:
    op.create_table(
        "annual_reports",
        sa.Column("agency_code", sa.String(32), sa.ForeignKey("agencies.code"),
                  primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("annual_reports")
