"""With the default year-end sources ({panel: 1.0}) every result is exactly what it was before
the sources were added (scoring.md §2b): the sample district and the full-year scenario, every
number, rank, tier and flag, compared with the JSON the engine wrote before."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from scoring.plan import YearEndSource
from services.file_scoring import ScoringFiles, score_files
from services.sample_district import write_sample
from services.standings import compute_standings
from storage.database import open_database
from storage.models import Base
from tests.e2e.year import SHANGHAI, YEAR, Year, build_year

BEFORE = Path(__file__).parent / "before_year_end_sources"


def before(name: str) -> dict[str, Any]:
    """A result the engine wrote before the year-end sources."""
    data: dict[str, Any] = json.loads((BEFORE / name).read_text(encoding="utf-8"))
    return data


def without_sources(doc: dict[str, Any]) -> dict[str, Any]:
    """The JSON without the new `year_end_sources` of each item, checking on the way that it
    names the panel alone (the only source of the default plan)."""
    doc = json.loads(json.dumps(doc))
    for entries in doc["groups"].values():
        for entry in entries:
            for item in entry["items"].values():
                sources = item.pop("year_end_sources")
                assert set(sources) <= {YearEndSource.PANEL.value}
    return doc


def test_the_sample_district_scores_exactly_as_before(tmp_path: Path) -> None:
    files = write_sample(tmp_path)
    standings = score_files(
        ScoringFiles(
            files.plan, files.units, files.values, files.grades, files.bonus, files.events
        )
    )
    assert "year_end:" in files.plan.read_text(encoding="utf-8")  # the block is documented
    now = without_sources(standings.to_json())
    assert json.dumps(now) == json.dumps(before("sample_district_2025.json"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def year(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Year]:
    """The full-year scenario, stored once per backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("year") / "kaohe.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        database = open_database(f"sqlite:///{path}")
    else:
        database = open_database(request.getfixturevalue("postgres_url"))
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with database.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield build_year(database)
    database.dispose()


@pytest.mark.parametrize(
    ("as_of", "name"),
    [
        (None, "full_year_2025.json"),
        (datetime(2025, 12, 21, tzinfo=SHANGHAI), "full_year_2025_dec21.json"),
    ],
)
def test_the_full_year_scenario_scores_exactly_as_before(
    year: Year, as_of: datetime | None, name: str
) -> None:
    now = without_sources(compute_standings(year.uow(), YEAR, as_of).to_json())
    assert json.dumps(now) == json.dumps(before(name))
