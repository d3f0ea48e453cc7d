"""Publishing the standings, and a liaison's own explanation of a publication, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from scoring.calendar import end_of_day
from services.access import Actor
from services.errors import Invalid, NotFound, Refused, ServiceError
from services.publications import (
    PublicationView,
    latest_publication,
    period_days,
    publish_standings,
    published_score,
    unit_explanation,
    withdraw_publication,
    year_publications,
)
from services.results import decide_result, freeze_result, publish_result
from services.standings import compute_standings
from services.year_data import record_grade
from storage.clock import FixedClock
from storage.models import AuditEntry, Publication, UnitRow
from templates import render
from tests.services.district import UOW, YEAR, People, approve_year, approver, at, people

__all__ = ["people"]  # the fixture these tests use

OPERATOR = Actor.operator("test")


def counts(uow: UOW) -> tuple[int, int]:
    """How many publications and audit entries are stored."""
    with uow() as work:
        publications = work.session.execute(select(func.count()).select_from(Publication))
        audit = work.session.execute(select(func.count()).select_from(AuditEntry))
        return publications.scalar_one(), audit.scalar_one()


def assert_refused(uow: UOW, code: str, call: Callable[[], Any]) -> None:
    """The call raises a ServiceError with `code` (with a message in both languages) and
    stores nothing."""
    before = counts(uow)
    with pytest.raises(ServiceError) as error:
        call()
    assert error.value.code == code
    for language in ("zh", "en"):
        assert render(f"errors.{code}", language, **dict(error.value.params))
    assert counts(uow) == before


# --- publishing ------------------------------------------------------------------------------


def test_a_coordinator_publishes_the_years_standings_as_of_now(uow: UOW, people: People) -> None:
    approve_year(uow)
    view = publish_standings(uow(), people.coordinator, YEAR)
    assert (view.year, view.period, view.withdrawn) == (YEAR, "year", False)
    assert view.as_of == at(3, 10) and view.published_at == at(3, 10)
    assert view.published_by == people.coordinator.person_id
    assert latest_publication(uow(), YEAR) == view
    with uow() as work:
        entry = work.session.execute(
            select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)
        ).scalar_one()
        assert (entry.action, entry.entity, entry.entity_id) == (
            "standings.publish",
            "publication",
            str(view.id),
        )


def test_a_quarter_published_after_it_ended_is_as_of_its_last_day(
    uow: UOW, people: People, clock: FixedClock
) -> None:
    clock.set(at(4, 10))
    view = publish_standings(uow(), people.coordinator, YEAR, "Q1")
    assert view.as_of == end_of_day(date(YEAR, 3, 31), "Asia/Shanghai")
    assert view.as_of_local.date() == date(YEAR, 4, 1)  # the first instant after 31 March


def test_a_given_day_means_the_end_of_that_day(uow: UOW, people: People) -> None:
    approve_year(uow)
    view = publish_standings(uow(), people.coordinator, YEAR, "year", date(YEAR, 2, 28))
    assert view.as_of == end_of_day(date(YEAR, 2, 28), "Asia/Shanghai")


def test_today_as_the_given_day_means_now(uow: UOW, people: People) -> None:
    view = publish_standings(uow(), people.coordinator, YEAR, "Q1", date(YEAR, 3, 10))
    assert view.as_of == at(3, 10)


def test_an_admin_may_publish_too(uow: UOW, people: People) -> None:
    approve_year(uow)
    assert publish_standings(uow(), OPERATOR, YEAR).published_by is None


@pytest.mark.parametrize("who", ["liaison", "rater", "viewer"])
def test_only_coordinators_publish(uow: UOW, people: People, who: str) -> None:
    actor = getattr(people, who)
    assert_refused(uow, "role_not_allowed", lambda: publish_standings(uow(), actor, YEAR))


def test_an_unknown_period_is_refused(uow: UOW, people: People) -> None:
    assert_refused(
        uow,
        "publication_unknown_period",
        lambda: publish_standings(uow(), people.coordinator, YEAR, "H1"),
    )


def test_a_day_in_the_future_is_refused(uow: UOW, people: People) -> None:
    approve_year(uow)
    assert_refused(
        uow,
        "publication_as_of_in_future",
        lambda: publish_standings(uow(), people.coordinator, YEAR, "year", date(YEAR, 3, 11)),
    )


def test_a_moment_in_the_future_is_refused(uow: UOW, people: People) -> None:
    approve_year(uow)
    assert_refused(
        uow,
        "publication_as_of_in_future",
        lambda: publish_standings(uow(), people.coordinator, YEAR, "year", at(3, 10, 11)),
    )


def test_a_day_outside_the_period_is_refused(uow: UOW, people: People, clock: FixedClock) -> None:
    clock.set(at(7, 10))
    assert_refused(
        uow,
        "publication_as_of_outside_period",
        lambda: publish_standings(uow(), people.coordinator, YEAR, "Q2", date(YEAR, 3, 31)),
    )
    assert_refused(
        uow,
        "publication_as_of_outside_period",
        lambda: publish_standings(uow(), people.coordinator, YEAR, "Q1", date(YEAR, 4, 1)),
    )


def test_a_period_not_started_cannot_be_published(uow: UOW, people: People) -> None:
    assert_refused(
        uow,
        "publication_period_not_started",
        lambda: publish_standings(uow(), people.coordinator, YEAR, "Q4"),
    )


def test_a_year_without_a_plan_cannot_be_published(uow: UOW, people: People) -> None:
    assert_refused(uow, "no_plan", lambda: publish_standings(uow(), people.coordinator, 2024))


def test_the_quarters_and_the_year_have_their_days() -> None:
    assert period_days(YEAR, "Q1") == (date(YEAR, 1, 1), date(YEAR, 3, 31))
    assert period_days(YEAR, "Q4") == (date(YEAR, 10, 1), date(YEAR, 12, 31))
    assert period_days(YEAR, "year") == (date(YEAR, 1, 1), date(YEAR, 12, 31))
    with pytest.raises(Invalid):
        period_days(YEAR, "Q5")


# --- the year needs its approved result (Art. 16: 领导小组审定) ------------------------------


def test_the_year_is_published_only_while_its_newest_result_is_approved(
    uow: UOW, people: People, clock: FixedClock
) -> None:
    def year() -> PublicationView:
        return publish_standings(uow(), people.coordinator, YEAR)

    def day() -> PublicationView:
        return publish_standings(uow(), people.coordinator, YEAR, "year", date(YEAR, 2, 28))

    assert_refused(uow, "result_none", year)
    leader = approver(uow, people)
    freeze_result(uow(), people.coordinator, YEAR)
    for call in (year, day):  # a draft awaiting approval
        assert_refused(uow, "result_not_approved", call)
    decide_result(uow(), leader, YEAR, approve=False, remarks="请核实")
    assert_refused(uow, "result_not_approved", year)  # returned
    freeze_result(uow(), people.coordinator, YEAR)
    decide_result(uow(), leader, YEAR, approve=True)
    assert year().period == "year" and day().period == "year"
    clock.advance(hours=1)
    freeze_result(uow(), people.coordinator, YEAR)  # a newer draft supersedes the approved one
    assert_refused(uow, "result_not_approved", year)
    assert publish_standings(uow(), people.coordinator, YEAR, "Q1").period == "Q1"


def test_the_year_is_not_published_again_once_its_result_is_published(
    uow: UOW, people: People, clock: FixedClock
) -> None:
    approve_year(uow, people.coordinator)
    publish_result(uow(), people.coordinator, YEAR)
    clock.advance(hours=1)
    assert_refused(
        uow, "result_not_approved", lambda: publish_standings(uow(), people.coordinator, YEAR)
    )


# --- the publication in force, withdrawing ---------------------------------------------------


def test_nothing_is_published_at_first(uow: UOW, people: People) -> None:
    assert latest_publication(uow(), YEAR) is None
    assert published_score(uow(), people.liaison, YEAR) is None
    assert year_publications(uow(), people.coordinator, YEAR) == []


def test_the_newest_publication_is_the_one_in_force(
    uow: UOW, people: People, clock: FixedClock
) -> None:
    approve_year(uow)
    first = publish_standings(uow(), people.coordinator, YEAR, "year", date(YEAR, 2, 28))
    clock.advance(hours=1)
    second = publish_standings(uow(), people.coordinator, YEAR)
    assert latest_publication(uow(), YEAR) == second
    assert [p.id for p in year_publications(uow(), people.coordinator, YEAR)] == [
        first.id,
        second.id,
    ]
    assert latest_publication(uow(), 2026) is None


def test_withdrawing_brings_back_the_older_publication(
    uow: UOW, people: People, clock: FixedClock
) -> None:
    approve_year(uow)
    first = publish_standings(uow(), people.coordinator, YEAR, "year", date(YEAR, 2, 28))
    clock.advance(hours=1)
    second = publish_standings(uow(), people.coordinator, YEAR)
    clock.advance(hours=1)
    withdrawn = withdraw_publication(uow(), people.coordinator, second.id)
    assert withdrawn.withdrawn and withdrawn.withdrawn_at == at(3, 10, 12)
    assert latest_publication(uow(), YEAR) == first
    withdraw_publication(uow(), people.coordinator, first.id)
    assert latest_publication(uow(), YEAR) is None
    actions = [p.withdrawn for p in year_publications(uow(), people.coordinator, YEAR)]
    assert actions == [True, True]


def test_a_publication_is_withdrawn_once(uow: UOW, people: People) -> None:
    approve_year(uow)
    view = publish_standings(uow(), people.coordinator, YEAR)
    withdraw_publication(uow(), people.coordinator, view.id)
    assert_refused(
        uow,
        "publication_already_withdrawn",
        lambda: withdraw_publication(uow(), people.coordinator, view.id),
    )


def test_an_unknown_publication_cannot_be_withdrawn(uow: UOW, people: People) -> None:
    assert_refused(
        uow,
        "publication_not_found",
        lambda: withdraw_publication(uow(), people.coordinator, 999),
    )


def test_a_liaison_cannot_withdraw_or_list_publications(uow: UOW, people: People) -> None:
    approve_year(uow)
    view = publish_standings(uow(), people.coordinator, YEAR)
    assert_refused(
        uow, "role_not_allowed", lambda: withdraw_publication(uow(), people.liaison, view.id)
    )
    with pytest.raises(Refused):
        year_publications(uow(), people.liaison, YEAR)


# --- a liaison's own explanation -------------------------------------------------------------


def test_a_liaison_sees_their_own_units_explanation(uow: UOW, people: People) -> None:
    approve_year(uow)
    view = publish_standings(uow(), people.coordinator, YEAR)
    published = published_score(uow(), people.liaison, YEAR)
    assert published is not None and published.publication == view
    expected = compute_standings(uow(), YEAR, view.as_of).explain("dianzi")
    assert published.score.explanation == expected
    assert published.score.explanation.result.code == "dianzi"
    assert published.score.categories["quality"] == "质量效益"
    assert (published.score.when_all_equal, published.score.missing_value) == ("full", "zero")
    other = published_score(uow(), people.other_liaison, YEAR)
    assert other is not None and other.score.explanation.result.code == "xiji"


def test_the_explanation_is_as_of_the_publication_not_as_of_now(
    uow: UOW, people: People, clock: FixedClock
) -> None:
    approve_year(uow)
    view = publish_standings(uow(), people.coordinator, YEAR)
    before = unit_explanation(uow(), people.liaison, view.id).explanation
    clock.advance(days=1)
    record_grade(
        uow(), OPERATOR, YEAR, people.units["dianzi"], "key_work", "year", "poor", "考核组"
    )
    after = unit_explanation(uow(), people.liaison, view.id).explanation
    assert after == before
    assert compute_standings(uow(), YEAR).result("dianzi").total < before.result.total


@pytest.mark.parametrize("who", ["coordinator", "rater", "viewer"])
def test_only_a_liaison_gets_a_units_explanation(uow: UOW, people: People, who: str) -> None:
    approve_year(uow)
    view = publish_standings(uow(), people.coordinator, YEAR)
    with pytest.raises(Refused):
        unit_explanation(uow(), getattr(people, who), view.id)


def test_a_withdrawn_publication_explains_nothing(uow: UOW, people: People) -> None:
    approve_year(uow)
    view = publish_standings(uow(), people.coordinator, YEAR)
    withdraw_publication(uow(), people.coordinator, view.id)
    with pytest.raises(NotFound) as error:
        unit_explanation(uow(), people.liaison, view.id)
    assert error.value.code == "publication_not_found"


def test_a_unit_no_longer_active_is_not_ranked(uow: UOW, people: People) -> None:
    approve_year(uow)
    view = publish_standings(uow(), people.coordinator, YEAR)
    with uow() as work:
        work.session.execute(
            update(UnitRow).where(UnitRow.id == people.units["dianzi"]).values(active=False)
        )
        work.commit()
    with pytest.raises(NotFound) as error:
        unit_explanation(uow(), people.liaison, view.id)
    assert error.value.code == "publication_unit_not_ranked"
    assert render("errors.publication_unit_not_ranked", "en")


def test_publishing_a_past_quarter_keeps_later_facts_out(
    uow: UOW, people: People, clock: FixedClock
) -> None:
    clock.set(at(4, 20))
    record_grade(
        uow(), OPERATOR, YEAR, people.units["dianzi"], "key_work", "year", "poor", "考核组"
    )
    view = publish_standings(uow(), people.coordinator, YEAR, "Q1")
    assert view.as_of < at(4, 20) - timedelta(days=15)
    score = unit_explanation(uow(), people.liaison, view.id).explanation
    key_work = next(i for i in score.items if i.code == "key_work")
    assert key_work.coef == 1.0  # the poor grade of 20 April is not in the Q1 standings


# --- kaohe publish ---------------------------------------------------------------------------


@pytest.fixture
def kaohe(
    people: People, database: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Any]]:
    """`kaohe publish` (on a Typer app of its own) pointed at the test database."""
    import typer
    from typer.testing import CliRunner

    from cli import publish
    from services import wiring
    from services.settings import get_settings

    app = typer.Typer()
    publish.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `publish` a subcommand
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KAOHE_DATABASE_URL", database.url)
    get_settings.cache_clear()
    wiring.database.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, ["publish", *args])
    wiring.database().dispose()
    get_settings.cache_clear()
    wiring.database.cache_clear()


def test_kaohe_publish_publishes_lists_and_withdraws(uow: UOW, kaohe: Callable[..., Any]) -> None:
    published = kaohe("--year", "2025", "--period", "Q1")
    assert published.exit_code == 0, published.output
    assert "已公布 2025 年度一季度考核排名" in published.output
    assert "2025-04-01 00:00" in published.output  # the end of 31 March (the clock is real)
    [view] = year_publications(uow(), OPERATOR, YEAR)
    assert view.period == "Q1" and view.published_by is None
    listed = kaohe("--year", "2025", "--list")
    assert listed.exit_code == 0 and "有效" in listed.output
    withdrawn = kaohe("--year", "2025", "--withdraw", str(view.id))
    assert withdrawn.exit_code == 0 and f"编号 {view.id}" in withdrawn.output
    assert latest_publication(uow(), YEAR) is None
    assert "已撤回" in kaohe("--year", "2025", "--list").output


def test_kaohe_publish_refuses_bad_input_with_a_message(
    uow: UOW, kaohe: Callable[..., Any]
) -> None:
    bad_period = kaohe("--year", "2025", "--period", "H1")
    assert bad_period.exit_code == 2 and "未知的公布期间" in bad_period.output
    bad_date = kaohe("--year", "2025", "--as-of", "2025-13-01")
    assert bad_date.exit_code == 2 and "不是 YYYY-MM-DD" in bad_date.output
    outside = kaohe("--year", "2025", "--period", "Q1", "--as-of", "2025-05-01")
    assert outside.exit_code == 2 and "不在 2025 年一季度" in outside.output
    twice = kaohe("--year", "2025", "--withdraw", "42")
    assert twice.exit_code == 2 and "找不到该次公布" in twice.output
    assert year_publications(uow(), OPERATOR, YEAR) == []
