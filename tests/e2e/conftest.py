"""Fixtures of the command-line tests: `kaohe` pointed at a test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.access import Actor
from services.files.reader import read_units
from services.people import register_units
from services.plans import load_plan
from services.sample_district import SampleFiles, write_sample
from storage.database import Database
from storage.unit_of_work import UnitOfWork
from tests.e2e.cli import pointed_at


@pytest.fixture
def kaohe(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """The `kaohe` command pointed at the test database (of each kind), in Chinese."""
    with pointed_at(monkeypatch, database.url, tmp_path, KAOHE_LANGUAGE="zh"):
        yield database


@pytest.fixture
def sample(kaohe: Database, tmp_path: Path) -> SampleFiles:
    """The sample district's files; its plan and units stored in the database."""
    files = write_sample(tmp_path / "sample")
    load_plan(
        UnitOfWork(kaohe),
        Actor.operator(),
        files.plan.read_text(encoding="utf-8"),
        str(files.plan),
    )
    register_units(UnitOfWork(kaohe), Actor.operator(), read_units(files.units))
    return files
