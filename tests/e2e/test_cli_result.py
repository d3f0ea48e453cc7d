"""`kaohe result draft|status|publish|approver` end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

from services.access import Actor, Role
from services.people import register_person
from services.results import decide_result
from services.sample_district import SampleFiles
from storage.database import Database
from storage.unit_of_work import UnitOfWork
from templates import render
from tests.e2e.test_cli_year import import_sample, kaohe, kaohe_cli, sample, year_of

__all__ = ["kaohe", "sample"]  # the fixtures these tests use


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
