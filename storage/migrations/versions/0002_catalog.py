"""evidence catalogue and derivatives

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("object_key", sa.Text, nullable=False),
        sa.Column("object_version", sa.Text, nullable=True),
        sa.Column("original_name", sa.Text, nullable=False),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("device_serial", sa.String(64), nullable=True),
        sa.Column("officer_no", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("container", sa.String(64), nullable=True),
        sa.Column("video_codec", sa.String(64), nullable=True),
        sa.Column("audio_codec", sa.String(64), nullable=True),
        sa.Column("duration_ms", sa.BigInteger, nullable=True),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_source", sa.String(32), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=True),
        sa.Column("media_json", sa.Text, nullable=False),
        sa.Column("flags", sa.Text, nullable=False),
        sa.Column("retention_category", sa.String(64), nullable=False),
        sa.Column("retain_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("legal_hold", sa.Boolean, nullable=False),
        sa.Column("derivatives_state", sa.String(16), nullable=False),
        sa.Column("derivatives_error", sa.Text, nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_evidence_device_serial", "evidence", ["device_serial"])
    op.create_index("ix_evidence_officer_no", "evidence", ["officer_no"])
    op.create_index("ix_evidence_start_time", "evidence", ["start_time"])
    op.create_table(
        "derivatives",
        sa.Column("evidence_id", sa.String(36), sa.ForeignKey("evidence.id"), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("object_key", sa.Text, nullable=False),
        sa.Column("object_version", sa.Text, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("derivatives")
    op.drop_table("evidence")
