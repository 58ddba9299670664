"""enforcement matters, certificates, actions and their handling officers; case documents

Revision ID: 0022
Revises: 0021

The agency's list of enforcement matters (执法事项清单), officers' enforcement certificates
(执法证), and enforcement actions on cases (cases/actions.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    op.create_table(
        "enforcement_matters",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("agency_code", sa.String(32), sa.ForeignKey("agencies.code"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("procedure", sa.Text, nullable=False),
        sa.Column("time_limit_days", sa.Integer, nullable=False),
        sa.Column("remedy", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_enforcement_matters_agency_code", "enforcement_matters", ["agency_code"])
    op.create_table(
        "enforcement_certificates",
        sa.Column("number", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(64), sa.ForeignKey("users.name"), nullable=False),
        sa.Column("issuing_body", sa.Text, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_enforcement_certificates_user_name", "enforcement_certificates",
                    ["user_name"])
    op.create_table(
        "enforcement_actions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("matter_id", sa.String(36), sa.ForeignKey("enforcement_matters.id"),
                  nullable=False),
        sa.Column("party_kind", sa.String(16), nullable=False),
        sa.Column("party_name", sa.Text, nullable=False),
        sa.Column("party_id_number", sa.String(64), nullable=True),
        sa.Column("on_site", sa.Boolean, nullable=False),
        sa.Column("action_date", sa.Date, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("facts", sa.Text, nullable=True),
        sa.Column("major_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_enforcement_actions_case_id", "enforcement_actions", ["case_id"])
    op.create_table(
        "action_officers",
        sa.Column("action_id", sa.String(36), sa.ForeignKey("enforcement_actions.id"),
                  primary_key=True),
        sa.Column("user_name", sa.String(64), sa.ForeignKey("users.name"), primary_key=True),
        sa.Column("certificate_number", sa.String(64), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "case_documents",
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("evidence_id", sa.String(36), sa.ForeignKey("evidence.id"), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_case_documents_evidence_id", "case_documents", ["evidence_id"])
    op.create_table(
        "major_catalogues",
        sa.Column("agency_code", sa.String(32), sa.ForeignKey("agencies.code"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "action_materials",
        sa.Column("action_id", sa.String(36), sa.ForeignKey("enforcement_actions.id"),
                  primary_key=True),
        sa.Column("evidence_id", sa.String(36), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "review_packets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("action_id", sa.String(36), sa.ForeignKey("enforcement_actions.id"),
                  nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("listing", sa.Text, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(128), nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("opinion", sa.String(16), nullable=True),
        sa.Column("reasons", sa.Text, nullable=True),
        sa.Column("checklist", sa.Text, nullable=True),
        sa.Column("reviewed_by", sa.String(128), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contested_by", sa.String(128), nullable=True),
        sa.Column("contest_reason", sa.Text, nullable=True),
        sa.Column("ruling", sa.String(16), nullable=True),
        sa.Column("ruled_by", sa.String(128), nullable=True),
        sa.Column("ruling_reason", sa.Text, nullable=True),
        sa.Column("approved_by", sa.String(128), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_review_packets_action_id", "review_packets", ["action_id"])


def downgrade() -> None:
    op.drop_index("ix_review_packets_action_id", "review_packets")
    op.drop_table("review_packets")
    op.drop_table("action_materials")
    op.drop_table("major_catalogues")
    op.drop_index("ix_case_documents_evidence_id", "case_documents")
    op.drop_table("case_documents")
    op.drop_table("action_officers")
    op.drop_index("ix_enforcement_actions_case_id", "enforcement_actions")
    op.drop_table("enforcement_actions")
    op.drop_index("ix_enforcement_certificates_user_name", "enforcement_certificates")
    op.drop_table("enforcement_certificates")
    op.drop_index("ix_enforcement_matters_agency_code", "enforcement_matters")
    op.drop_table("enforcement_matters")
