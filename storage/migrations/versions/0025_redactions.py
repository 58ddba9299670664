"""redacted copies of footage and photos, requested and approved for publication

Revision ID: 0025
Revises: 0024

A redacted copy (faces blurred, chosen areas covered, sound muted) is a derivative of its
original (``derivatives``); this table holds its request and approval (cases/redactions.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"


def upgrade() -> None:
    op.create_table(
        "redactions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("evidence_id", sa.String(36), sa.ForeignKey("evidence.id"), nullable=False),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("copy_name", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("settings", sa.Text, nullable=False),  # canonical JSON, as logged
        sa.Column("tracks", sa.Text, nullable=False),  # the faces the detector followed
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),  # requested | approved | refused
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_redactions_evidence_id", "redactions", ["evidence_id"])
    op.create_index("ix_redactions_case_id", "redactions", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_redactions_case_id", "redactions")
    op.drop_index("ix_redactions_evidence_id", "redactions")
    op.drop_table("redactions")
