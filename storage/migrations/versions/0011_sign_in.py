"""sign-in: passwords (argon2id), lockout, server-side web sessions, OpenID Connect requests

Revision ID: 0011
Revises: 0010

``users`` gains the password's argon2id hash (never the password), when it was set,
the count of failed sign-ins since the last success and the end of a lockout.
``user_sessions`` holds one row per browser session: the SHA-256 of its random id
(the id itself is only in the browser's cookie), its user, how it was opened, and
its idle and absolute ends. ``oidc_requests`` holds a single sign-on request between
the redirect to the provider and its answer (state hashed; used once).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.Text, nullable=True))
        batch.add_column(sa.Column("password_set_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failed_sign_ins", sa.Integer, nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "user_sessions",
        sa.Column("id_sha256", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(64), sa.ForeignKey("users.name"), nullable=False,
                  index=True),
        sa.Column("method", sa.String(16), nullable=False),  # password | oidc
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),  # absolute end
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "oidc_requests",
        sa.Column("state_sha256", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("next_path", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("oidc_requests")
    op.drop_table("user_sessions")
    with op.batch_alter_table("users") as batch:
        for column in ("locked_until", "failed_sign_ins", "password_set_at", "password_hash"):
            batch.drop_column(column)
