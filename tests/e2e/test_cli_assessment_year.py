"""The command line's `--year` is optional: without it, the assessment year (the latest loaded,
unclosed year), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from services.access import Actor
from services.files.plan_file import default_plan_text
from services.plans import load_plan
from services.sample_district import SampleFiles
from storage.database import Database
from storage.unit_of_work import UnitOfWork
from tests.e2e.cli import kaohe_cli
from tests.e2e.test_cli_year import year_of


def test_imports_and_standings_without_year_take_the_loaded_year(sample: SampleFiles) -> None:
    year = year_of(sample)
    for kind, path in (("values", sample.values), ("grades", sample.grades)):
        result = kaohe_cli(kind, "import", str(path))
        assert result.exit_code == 0, result.output
        assert year in result.output
    named = kaohe_cli("standings", "--year", year, "--json")
    default = kaohe_cli("standings", "--json")
    assert named.exit_code == default.exit_code == 0, default.output
    assert json.loads(default.output) == json.loads(named.output)
    assert json.loads(default.output)["year"] == int(year)


def test_a_later_plan_becomes_the_default_and_the_earlier_is_named(
    sample: SampleFiles, kaohe: Database
) -> None:
    year = int(year_of(sample))
    later = default_plan_text(year + 1)
    load_plan(UnitOfWork(kaohe), Actor.operator(), later, "later.yaml")
    assert json.loads(kaohe_cli("standings", "--json").output)["year"] == year + 1
    assert json.loads(kaohe_cli("standings", "--year", str(year), "--json").output)["year"] == year
