"""bearer tokens expire: users.token_expires_at

Revision ID: 0010
Revises: 0009

Every token now has an end (EVIDENCE_TOKEN_DAYS after it was issued, default 90).
Tokens issued before this migration get 90 days from the migration, so nobody is
locked out by an upgrade.
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

EXISTING_TOKEN_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True))
    until = datetime.now(UTC) + timedelta(days=EXISTING_TOKEN_DAYS)
    op.execute(sa.text("UPDATE users SET token_expires_at = :until").bindparams(
        sa.bindparam("until", until, type_=sa.DateTime(timezone=True))))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("token_expires_at", existing_type=sa.DateTime(timezone=True),
                           nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_expires_at")
