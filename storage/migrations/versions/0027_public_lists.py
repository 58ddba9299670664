"""random-inspection list, service guides, and the published copies of the public lists

Revision ID: 0027
Revises: 0025

Publication before the action (cases/public_lists.py): the agency's random-inspection list
(随机抽查事项清单), its service guides (办事指南), and public_entries, the published copy of
every entry the public site shows.
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0025"


def upgrade() -> None:
    op.create_table(
        "inspection_items",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("agency_code", sa.String(32), sa.ForeignKey("agencies.code"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("frequency", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_inspection_items_agency_code", "inspection_items", ["agency_code"])
    op.create_table(
        "service_guides",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("agency_code", sa.String(32), sa.ForeignKey("agencies.code"), nullable=False),
        sa.Column("matter_id", sa.String(36), sa.ForeignKey("enforcement_matters.id"),
                  nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_service_guides_agency_code", "service_guides", ["agency_code"])
    op.create_table(
        "public_entries",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("entry_id", sa.String(64), primary_key=True),
        sa.Column("agency_code", sa.String(32), sa.ForeignKey("agencies.code"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_public_entries_agency_kind", "public_entries",
                    ["agency_code", "kind", "title"])


def downgrade() -> None:
    op.drop_index("ix_public_entries_agency_kind", "public_entries")
    op.drop_table("public_entries")
    op.drop_index("ix_service_guides_agency_code", "service_guides")
    op.drop_table("service_guides")
    op.drop_index("ix_inspection_items_agency_code", "inspection_items")
    op.drop_table("inspection_items")
