"""evidence kept for good: a file a record holds without a link table (an imported workbook)

Revision ID: 0003_evidence_kept
Revises: 0002_peer_rating
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_evidence_kept"
down_revision: str | None = "0002_peer_rating"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kept_at", sa.DateTime(timezone=True), nullable=True))
    # Files registered before this revision that no link row refers to are kept: nothing tells
    # an imported workbook from an abandoned upload among them, and pruning must lose neither.
    op.execute(
        "UPDATE evidence SET kept_at = uploaded_at"
        " WHERE id NOT IN (SELECT evidence_id FROM report_evidence)"
        " AND id NOT IN (SELECT evidence_id FROM finding_evidence)"
        " AND id NOT IN (SELECT evidence_id FROM rectification_evidence)"
    )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_column("kept_at")
