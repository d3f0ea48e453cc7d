"""`kaohe evidence prune` end to end on an SQLite file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cli.app import app
from services import wiring
from services.access import Actor
from services.evidence import register_evidence
from services.settings import get_settings
from storage.archive import EvidenceArchive
from storage.clock import SystemClock
from storage.unit_of_work import UnitOfWork
from tests.e2e.cli import migrated_sqlite, pointed_at, runner


@pytest.fixture
def kaohe(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A migrated SQLite database and an archive that `kaohe` uses; yields the working folder."""
    url = migrated_sqlite(sqlite_template, tmp_path)
    with pointed_at(monkeypatch, url, tmp_path, KAOHE_ARCHIVE_DIR=str(tmp_path / "archive")):
        yield tmp_path


class Earlier(SystemClock):
    """The system clock, `days` ago."""

    def __init__(self, days: int) -> None:
        self.days = days

    def now(self) -> datetime:
        """The time `days` ago."""
        return super().now() - timedelta(days=self.days)


def upload(days_ago: int, content: bytes, unique: str) -> Path:
    """An evidence file nothing refers to, registered `days_ago` (an abandoned dialog's)."""
    archive = EvidenceArchive(get_settings().resolved_archive_dir)
    view = register_evidence(
        UnitOfWork(wiring.database(), Earlier(days_ago)), Actor.operator(), "photo", unique,
        unique, None, "image/jpeg", len(content), content, archive,
    )  # fmt: skip
    assert view.archive_path is not None
    path = archive.root / view.archive_path
    os.utime(path, (0, 0))
    return path


def test_prune_removes_old_evidence_nothing_refers_to(kaohe: Path) -> None:
    old = upload(10, b"\xff\xd8\xff\xe0 old photo", "old")
    recent = upload(1, b"\xff\xd8\xff\xe0 recent photo", "recent")
    result = runner.invoke(app, ["evidence", "prune", "--older-than", "7d"])
    assert result.exit_code == 0, result.output
    assert "已删除 1 条" in result.output and "1 个存档文件" in result.output
    assert not old.exists()
    assert recent.exists()
    everything = runner.invoke(app, ["evidence", "prune", "--older-than", "12h"])
    assert "已删除 1 条" in everything.output
    assert not recent.exists()


def test_prune_of_an_unreadable_age_exits_2(kaohe: Path) -> None:
    result = runner.invoke(app, ["evidence", "prune", "--older-than", "a week"])
    assert result.exit_code == 2
    assert "a week" in result.output
