"""case exports built on the server: export_jobs

Revision ID: 0015
Revises: 0010

A case bundle is built on the server by a job (cases.export_jobs) whose progress a
page polls; the finished ZIP stays in the home's export area until the row's
expires_at, then it is deleted.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("include_playback", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("items_total", sa.Integer, nullable=False),
        sa.Column("items_done", sa.Integer, nullable=False),
        sa.Column("bytes_total", sa.BigInteger, nullable=False),
        sa.Column("bytes_done", sa.BigInteger, nullable=False),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("manifest_sha256", sa.String(64), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_export_jobs_case_id", "export_jobs", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_export_jobs_case_id", "export_jobs")
    op.drop_table("export_jobs")
