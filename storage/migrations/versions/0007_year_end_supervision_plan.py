"""the annual supervision plan: its activities, and the activity a finding came from

Revision ID: 0007_year_end_supervision_plan
Revises: 0006_year_end_closed
Create Date: 2026-12-03 13:52:20.213697
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_year_end_supervision_plan"
down_revision: str | None = "0006_year_end_closed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "supervision_activities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("focus", sa.Text(), nullable=False),
        sa.Column("unit_ids", sa.JSON(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["people.id"], name=op.f("fk_supervision_activities_created_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_activities")),
    )
    with op.batch_alter_table("supervision_activities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supervision_activities_year"), ["year"], unique=False)

    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activity_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_findings_activity_id_supervision_activities"),
            "supervision_activities",
            ["activity_id"],
            ["id"],
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_findings_activity_id_supervision_activities"), type_="foreignkey"
        )
        batch_op.drop_column("activity_id")

    with op.batch_alter_table("supervision_activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervision_activities_year"))

    op.drop_table("supervision_activities")
