"""index matching the evidence listing's order

Revision ID: 0005
Revises: 0004

The API lists evidence by start_time DESC NULLS LAST, ingested_at DESC, id.
PostgreSQL cannot use a plain start_time index backwards for NULLS LAST, so a
first page was a sequential scan and a top-N sort (bench/api.py). SQLite sorts
NULLs last for DESC already and refuses NULLS LAST in CREATE INDEX.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

NAME = "ix_evidence_listing"


def upgrade() -> None:
    nulls = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    op.create_index(NAME, "evidence", [sa.text(f"start_time DESC{nulls}"),
                                       sa.text("ingested_at DESC"), sa.text("id")])


def downgrade() -> None:
    op.drop_index(NAME, table_name="evidence")
