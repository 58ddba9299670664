"""legal review: voided packets, confirmed due dates, required materials, legal advice,
service of decisions

Revision ID: 0023
Revises: 0022

A packet is void for good once the materials change after its submission (voided_at, why);
its due date says whether every working day counted is on a known official calendar; each
agency's required review materials by kind of action are versioned like its catalogue of
major decisions; a legal adviser's or government lawyer's opinion (法律顾问/公职律师意见) on
a packet; the service (送达) of a decision (cases/legal_review.py and its companions).
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"


def upgrade() -> None:
    with op.batch_alter_table("review_packets") as batch:
        batch.add_column(sa.Column("due_confirmed", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("voided_reason", sa.Text, nullable=True))
    op.create_table(
        "review_requirements",
        sa.Column("agency_code", sa.String(32), sa.ForeignKey("agencies.code"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("requirements", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "review_advice",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("packet_id", sa.String(36), sa.ForeignKey("review_packets.id"), nullable=False),
        sa.Column("adviser_kind", sa.String(32), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("adviser", sa.Text, nullable=True),
        sa.Column("opinion", sa.Text, nullable=True),
        sa.Column("given_on", sa.Date, nullable=True),
        sa.Column("recorded_by", sa.String(128), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_review_advice_packet_id", "review_advice", ["packet_id"])
    op.create_table(
        "decision_services",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("action_id", sa.String(36), sa.ForeignKey("enforcement_actions.id"),
                  nullable=False),
        sa.Column("served_on", sa.Date, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_decision_services_action_id", "decision_services", ["action_id"])


def downgrade() -> None:
    op.drop_index("ix_decision_services_action_id", "decision_services")
    op.drop_table("decision_services")
    op.drop_index("ix_review_advice_packet_id", "review_advice")
    op.drop_table("review_advice")
    op.drop_table("review_requirements")
    with op.batch_alter_table("review_packets") as batch:
        batch.drop_column("voided_reason")
        batch.drop_column("voided_at")
        batch.drop_column("due_confirmed")
