"""case service: users, cases, attached evidence, viewing sessions, custody subject index

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("officer_no", sa.String(64), nullable=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(128), nullable=True),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "case_officers",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("user_name", sa.String(64), sa.ForeignKey("users.name"), primary_key=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "case_evidence",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("evidence_id", sa.String(36), sa.ForeignKey("evidence.id"), primary_key=True),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attached_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_case_evidence_evidence_id", "case_evidence", ["evidence_id"])
    op.create_table(
        "view_sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_view_sessions_lookup", "view_sessions",
                    ["user_name", "kind", "subject", "last_seen_at"])
    op.create_table(
        "custody_subjects",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("evidence_id", sa.String(36), nullable=True),
        sa.Column("case_id", sa.String(36), nullable=True),
    )
    op.create_index("ix_custody_subjects_evidence_id", "custody_subjects", ["evidence_id"])
    op.create_index("ix_custody_subjects_case_id", "custody_subjects", ["case_id"])
    head = op.create_table(
        "custody_subjects_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("indexed", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "indexed": 0}])


def downgrade() -> None:
    for table in ("custody_subjects_head", "custody_subjects", "view_sessions", "case_evidence",
                  "case_officers", "cases", "users"):
        op.drop_table(table)
