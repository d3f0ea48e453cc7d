"""year-end results frozen for approval (drafts, approved, published) and approvers

Revision ID: 0005_year_end_results
Revises: 0005_dashboard_links
Create Date: 2026-12-03 13:21:42.799532
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_year_end_results"
down_revision: str | None = "0005_dashboard_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "year_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("data_versions", sa.JSON(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("snapshot_hash", sa.String(length=64), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drafted_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("publication_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["people.id"], name=op.f("fk_year_results_decided_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["drafted_by"], ["people.id"], name=op.f("fk_year_results_drafted_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_year_results_publication_id_publications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_year_results")),
        sa.UniqueConstraint("year", "version", name=op.f("uq_year_results_year")),
    )
    with op.batch_alter_table("year_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_year_results_year"), ["year"], unique=False)

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("approver", sa.Boolean(), server_default=sa.text("(false)"), nullable=False)
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("approver")

    with op.batch_alter_table("year_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_year_results_year"))

    op.drop_table("year_results")
