"""agencies and units; who belongs where; grants of footage to another unit's case

Revision ID: 0009
Revises: 0008

A region has enforcement agencies (执法机关) at three levels, each with units
(field offices, teams). Users, recorders, footage and cases belong to a unit.
An existing home is placed in one default agency and unit, named here:
agency ``default`` (默认执法机关, region level) and unit ``default`` (默认单位).
Auditors made before scopes existed saw everything, so their scope is ``*``.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"

DEFAULT_AGENCY = "default"
DEFAULT_AGENCY_NAME = "默认执法机关"
DEFAULT_UNIT = "default"
DEFAULT_UNIT_NAME = "默认单位"
MIGRATION_ACTOR = "migration:0009"


def upgrade() -> None:
    agencies = op.create_table(
        "agencies",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),  # region | city | county
        sa.Column("parent_code", sa.String(32), sa.ForeignKey("agencies.code"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    units = op.create_table(
        "units",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("agency_code", sa.String(32), sa.ForeignKey("agencies.code"), nullable=False,
                  index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "evidence_grants",
        sa.Column("evidence_id", sa.String(36), sa.ForeignKey("evidence.id"), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("from_unit", sa.String(32), nullable=False),
        sa.Column("to_unit", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(128), nullable=False),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("unit_code", sa.String(32), nullable=True))
        batch.add_column(sa.Column("auditor_scope", sa.String(32), nullable=True))
        batch.create_foreign_key("fk_users_unit_code", "units", ["unit_code"], ["code"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("unit_code", sa.String(32), nullable=True))
        batch.add_column(sa.Column("review_requested_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("review_requested_by", sa.String(64), nullable=True))
        batch.create_index("ix_cases_unit_code", ["unit_code"])

    now = datetime.now(UTC)
    op.bulk_insert(agencies, [{"code": DEFAULT_AGENCY, "name": DEFAULT_AGENCY_NAME,
                               "level": "region", "parent_code": None, "created_at": now,
                               "created_by": MIGRATION_ACTOR}])
    op.bulk_insert(units, [{"code": DEFAULT_UNIT, "agency_code": DEFAULT_AGENCY,
                            "name": DEFAULT_UNIT_NAME, "created_at": now,
                            "created_by": MIGRATION_ACTOR}])
    for table in ("users", "devices", "evidence", "cases"):
        op.execute(sa.text(f"UPDATE {table} SET unit_code = :unit WHERE unit_code IS NULL")  # noqa: S608
                   .bindparams(unit=DEFAULT_UNIT))
    op.execute(sa.text("UPDATE users SET auditor_scope = '*' WHERE role = 'auditor'"))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_unit_code")
        batch.drop_column("review_requested_by")
        batch.drop_column("review_requested_at")
        batch.drop_column("unit_code")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_unit_code", type_="foreignkey")
        batch.drop_column("auditor_scope")
        batch.drop_column("unit_code")
    op.drop_table("evidence_grants")
    op.drop_table("units")
    op.drop_table("agencies")
