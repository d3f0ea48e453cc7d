"""Migration 0003_evidence_kept: evidence registered before it is never pruned."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage.database import open_database
from storage.migrate import upgrade


def test_unlinked_evidence_from_before_the_migration_is_marked_kept(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'kaohe.db'}")
    upgrade(database, "0001")
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO evidence (kind, file_name, uploaded_at)"
                " VALUES ('document', '指标值.xlsx', '2025-03-01 09:00:00')"
            )
        )
    upgrade(database)
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT uploaded_at, kept_at FROM evidence")).all()
    database.dispose()
    assert [(str(a), str(b)) for a, b in rows] == [("2025-03-01 09:00:00", "2025-03-01 09:00:00")]
