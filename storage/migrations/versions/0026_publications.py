"""publication of decisions (公示): records and their published versions

Revision ID: 0026
Revises: 0027 (numbered before the public lists, applied after them)

One record per decided enforcement action (cases/publication.py): its masked working copy
and each version published. The lead relinks the chain at merge.
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0027"


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("action_id", sa.String(36), sa.ForeignKey("enforcement_actions.id"),
                  nullable=False, unique=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("agency_code", sa.String(32), sa.ForeignKey("agencies.code"), nullable=False),
        sa.Column("unit_code", sa.String(32), sa.ForeignKey("units.code"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("decision_date", sa.Date, nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("due_confirmed", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("party_kind", sa.String(16), nullable=False),
        sa.Column("party", sa.Text, nullable=False),
        sa.Column("conclusion", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("document_number", sa.Text, nullable=False),
        sa.Column("masked", sa.Text, nullable=False),
        sa.Column("confirmed_by", sa.String(128), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(128), nullable=True),
        sa.Column("revoke_reason", sa.Text, nullable=True),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("public_changed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_publications_public_changed_at", "publications", ["public_changed_at"])
    op.create_index("ix_publications_case_id", "publications", ["case_id"])
    op.create_index("ix_publications_agency_code", "publications", ["agency_code"])
    op.create_index("ix_publications_state", "publications", ["state"])
    op.create_table(
        "publication_versions",
        sa.Column("publication_id", sa.String(36), sa.ForeignKey("publications.id"),
                  primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("agency_code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("party", sa.Text, nullable=False),
        sa.Column("decision_date", sa.Date, nullable=False),
        sa.Column("live", sa.Boolean, nullable=False),
    )
    op.create_index("ix_publication_versions_live", "publication_versions",
                    ["live", "decision_date"])
    op.create_index("ix_publication_versions_live_agency", "publication_versions",
                    ["live", "agency_code", "decision_date"])
    op.create_index("ix_publication_versions_live_kind", "publication_versions",
                    ["live", "kind", "decision_date"])
    op.create_index("ix_publication_versions_published_at", "publication_versions",
                    ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_publication_versions_live_kind", "publication_versions")
    op.drop_index("ix_publication_versions_live_agency", "publication_versions")
    op.drop_index("ix_publication_versions_live", "publication_versions")
    op.drop_index("ix_publication_versions_published_at", "publication_versions")
    op.drop_table("publication_versions")
    op.drop_index("ix_publications_state", "publications")
    op.drop_index("ix_publications_agency_code", "publications")
    op.drop_index("ix_publications_public_changed_at", "publications")
    op.drop_index("ix_publications_case_id", "publications")
    op.drop_table("publications")
