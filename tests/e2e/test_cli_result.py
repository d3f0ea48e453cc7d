"""`kaohe result draft|status|publish|approver` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from services.access import Actor, Role
from services.files.plan_file import load_plan_file
from services.people import register_person
from services.results import decide_result
from services.sample_district import SampleFiles
from storage.database import Database
from storage.unit_of_work import UnitOfWork
from templates import render
from tests.e2e.cli import kaohe_cli
from tests.e2e.test_cli_year import import_sample, year_of


def test_draft_status_approver_and_publish(sample: SampleFiles, kaohe: Database) -> None:
    import_sample(sample)
    year = int(year_of(sample))
    assert kaohe_cli("result", "status").output.strip() == render("result.cli_none", year=year)
    drafted = kaohe_cli("result", "draft")
    assert drafted.exit_code == 0, drafted.output
    assert f"{year}" in drafted.output
    status = kaohe_cli("result", "status")
    assert render("result.cli_fresh") in status.output
    refused = kaohe_cli("result", "publish")
    assert refused.exit_code == 2
    expected = render("errors.result_not_approved", year=year, status="draft")
    assert "".join(expected.split()) in "".join(refused.output.split())

    leader = register_person(UnitOfWork(kaohe), Actor.operator(), 777, "刘区长", Role.VIEWER, None)
    named = kaohe_cli("result", "approver", str(leader.id))
    assert named.exit_code == 0 and "刘区长" in named.output
    decide_result(
        UnitOfWork(kaohe), Actor(leader.id, Role.VIEWER, None, "刘区长"), year, approve=True
    )
    published = kaohe_cli("result", "publish")
    assert published.exit_code == 0, published.output
    assert "已公布" in kaohe_cli("result", "status").output


def test_an_approver_must_be_a_leader(sample: SampleFiles, kaohe: Database) -> None:
    rater = register_person(UnitOfWork(kaohe), Actor.operator(), 778, "评价人", Role.RATER, None)
    refused = kaohe_cli("result", "approver", str(rater.id))
    assert refused.exit_code == 2
    assert "评价人" in refused.output


def test_year_close_after_publication_and_roll_over(
    sample: SampleFiles, kaohe: Database, tmp_path: Path
) -> None:
    import_sample(sample)
    year = int(year_of(sample))
    refused = kaohe_cli("year", "close", str(year))
    assert refused.exit_code == 2
    expected = render("errors.year_close_unpublished", year=year)
    assert "".join(expected.split()) in "".join(refused.output.split())
    leader = register_person(UnitOfWork(kaohe), Actor.operator(), 779, "刘区长", Role.VIEWER, None)
    assert kaohe_cli("result", "approver", str(leader.id)).exit_code == 0
    assert kaohe_cli("result", "draft").exit_code == 0
    approver = Actor(leader.id, Role.VIEWER, None, "刘区长")
    decide_result(UnitOfWork(kaohe), approver, year, approve=True)
    assert kaohe_cli("result", "publish").exit_code == 0
    closed = kaohe_cli("year", "close", str(year))
    assert closed.exit_code == 0, closed.output
    assert f"kaohe plan init --from {year}" in closed.output
    again = kaohe_cli("grades", "import", str(sample.grades), "--year", str(year))
    assert again.exit_code == 2
    assert "".join(render("errors.year_closed", year=year).split()) in "".join(
        again.output.split()
    )

    rolled = kaohe_cli("plan", "init", "--from", str(year), "-o", str(tmp_path / "next.yaml"))
    assert rolled.exit_code == 0, rolled.output
    plan = load_plan_file(tmp_path / "next.yaml")
    assert plan.year == year + 1
    assert plan.work == load_plan_file(sample.plan).work
    loaded = kaohe_cli("plan", "load", str(tmp_path / "next.yaml"))
    assert loaded.exit_code == 0, loaded.output
    # The assessment year is now the next one.
    assert json.loads(kaohe_cli("standings", "--json").output)["year"] == year + 1


def test_plan_init_needs_a_year_or_a_plan_to_roll_over(kaohe: Database, tmp_path: Path) -> None:
    assert kaohe_cli("plan", "init", "-o", str(tmp_path / "x.yaml")).exit_code == 2
    missing = kaohe_cli("plan", "init", "--from", "2010", "-o", str(tmp_path / "y.yaml"))
    assert missing.exit_code == 2
    assert not (tmp_path / "y.yaml").exists()


def test_kaohe_publish_of_the_year_needs_the_approved_result(
    sample: SampleFiles, kaohe: Database
) -> None:
    import_sample(sample)
    year = int(year_of(sample))
    refused = kaohe_cli("publish")
    assert refused.exit_code == 2
    expected = render("errors.result_none", year=year)
    assert "".join(expected.split()) in "".join(refused.output.split())
    assert kaohe_cli("publish", "--as-of", f"{year}-12-31").exit_code == 2
    leader = register_person(UnitOfWork(kaohe), Actor.operator(), 780, "刘区长", Role.VIEWER, None)
    kaohe_cli("result", "approver", str(leader.id))
    kaohe_cli("result", "draft")
    decide_result(
        UnitOfWork(kaohe), Actor(leader.id, Role.VIEWER, None, "刘区长"), year, approve=True
    )
    published = kaohe_cli("publish")
    assert published.exit_code == 0, published.output
    assert "已公布" in kaohe_cli("result", "status").output
