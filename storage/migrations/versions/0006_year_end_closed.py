"""closed years: after its approved result is published, nothing of a year changes

Revision ID: 0006_year_end_closed
Revises: 0005_year_end_results
Create Date: 2026-12-03 13:34:44.985232
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_year_end_closed"
down_revision: str | None = "0005_year_end_results"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "year_closures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["people.id"], name=op.f("fk_year_closures_closed_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["year_results.id"],
            name=op.f("fk_year_closures_result_id_year_results"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_year_closures")),
        sa.UniqueConstraint("year", name=op.f("uq_year_closures_year")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("year_closures")
