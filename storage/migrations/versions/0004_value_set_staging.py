"""value sets written in chunks before they are published: version NULL until then

Revision ID: 0004_value_set_staging
Revises: 0003_evidence_kept
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_value_set_staging"
down_revision: str | None = "0003_evidence_kept"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("value_sets", schema=None) as batch_op:
        batch_op.alter_column("version", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    """Undo this revision: value sets never published are removed first."""
    op.execute(
        "DELETE FROM indicator_values WHERE value_set_id IN "
        "(SELECT id FROM value_sets WHERE version IS NULL)"
    )
    op.execute("DELETE FROM value_sets WHERE version IS NULL")
    with op.batch_alter_table("value_sets", schema=None) as batch_op:
        batch_op.alter_column("version", existing_type=sa.Integer(), nullable=False)
