"""Extension requests for findings and monthly reports, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from services.access import Actor
from services.errors import Invalid, NotFound, Refused
from services.extensions import (
    current_deadline,
    decide_extension,
    pending_extensions,
    request_extension,
    unit_extensions,
)
from services.findings import (
    accept_rectification,
    get_finding,
    submit_rectification,
)
from storage.models import ProgressReport
from storage.repositories.extensions import Extensions
from tests.services.district import (
    DEADLINE,
    DEADLINE_END,
    UowFactory,
    World,
    add_finding,
    assert_code,
    audit_entries,
    build_world,
    finding_row,
    unchanged,
)


@pytest.fixture
def world(uow: UowFactory) -> World:
    """The units, people and plan of these tests."""
    return build_world(uow)


NEW_DATE = date(2025, 3, 31)
# The March 2025 report is due on 5 April (the default plan's due day).
MARCH_DUE = date(2025, 4, 5)


def ask_for_finding(
    uow: UowFactory, world: World, finding_id: int, new_date: date = NEW_DATE, **kw: Any
) -> Any:
    """Liaison A asks for a later deadline of a finding."""
    return request_extension(
        uow(),
        world.liaison_a,
        world.unit_a,
        kw.pop("reason", "汛期人手不足"),
        new_date,
        finding_id=finding_id,
        **kw,
    )


def ask_for_report(
    uow: UowFactory, world: World, new_date: date = date(2025, 4, 10), month: int = 3
) -> Any:
    """Liaison A asks for a later deadline of the March report."""
    return request_extension(
        uow(),
        world.liaison_a,
        world.unit_a,
        "系统故障",
        new_date,
        report_year=2025,
        report_month=month,
    )


def granted(uow: UowFactory, unit_id: int, month: int = 3) -> date | None:
    """The granted report deadline as the reports service reads it."""
    with uow() as work:
        return work.repository(Extensions).granted_report_extension(unit_id, 2025, month)


# --- findings --------------------------------------------------------------------------------


def test_a_liaison_asks_for_a_later_finding_deadline(uow: UowFactory, world: World) -> None:
    finding = add_finding(uow, world)
    request = ask_for_finding(uow, world, finding.id)
    assert request.pending
    assert (request.finding_id, request.requested_date) == (finding.id, NEW_DATE)
    assert request.coordinator_telegram_ids == (1001, 1002)
    action, entity, before, after = audit_entries(uow)[-1]
    assert (action, entity, before) == ("extension.request", "extension_request", None)
    assert after is not None and after["current_deadline"] == "2025-03-10"
    assert finding_row(uow, finding.id).deadline == DEADLINE


def test_granting_a_finding_extension_moves_its_deadline(uow: UowFactory, world: World) -> None:
    finding = add_finding(uow, world)
    request = ask_for_finding(uow, world, finding.id)
    decided = decide_extension(uow(), world.coordinator, request.id, grant=True)
    assert decided.decision == "granted"
    assert decided.liaison_telegram_ids == (2001, 2002)
    assert finding_row(uow, finding.id).deadline == NEW_DATE
    moved = get_finding(uow(), world.coordinator, finding.id)
    assert moved.effective_status(DEADLINE_END + timedelta(days=1)) == "open"
    deadline_entry, decision_entry = audit_entries(uow)[-2:]
    assert deadline_entry[0:3] == (
        "finding.extend_deadline",
        "finding",
        {"deadline": "2025-03-10"},
    )
    assert deadline_entry[3]["deadline"] == "2025-03-31"
    assert decision_entry[0] == "extension.grant"
    assert decision_entry[2] is not None and decision_entry[2]["decision"] is None
    assert decision_entry[3]["decision"] == "granted"


def test_refusing_a_finding_extension_keeps_its_deadline(uow: UowFactory, world: World) -> None:
    finding = add_finding(uow, world)
    request = ask_for_finding(uow, world, finding.id)
    decided = decide_extension(uow(), world.coordinator, request.id, False, " 理由不充分 ")
    assert (decided.decision, decided.reason_for_decision) == ("refused", "理由不充分")
    assert finding_row(uow, finding.id).deadline == DEADLINE
    assert audit_entries(uow)[-1][0] == "extension.refuse"


def test_a_finding_extension_may_be_asked_again_after_a_decision(
    uow: UowFactory, world: World
) -> None:
    finding = add_finding(uow, world)
    first = ask_for_finding(uow, world, finding.id)
    decide_extension(uow(), world.coordinator, first.id, grant=True)
    with unchanged(uow), pytest.raises(Invalid) as error:
        ask_for_finding(uow, world, finding.id, NEW_DATE)
    assert_code(error, "extension_date_not_later")
    second = ask_for_finding(uow, world, finding.id, NEW_DATE + timedelta(days=10))
    assert second.pending


def test_only_one_request_per_finding_may_be_pending(uow: UowFactory, world: World) -> None:
    finding = add_finding(uow, world)
    other = add_finding(uow, world)
    first = ask_for_finding(uow, world, finding.id)
    with unchanged(uow), pytest.raises(Invalid) as error:
        ask_for_finding(uow, world, finding.id, NEW_DATE + timedelta(days=1))
    assert_code(error, "extension_already_pending")
    assert error.value.params["request_id"] == first.id
    assert ask_for_finding(uow, world, other.id).pending


def test_an_accepted_finding_cannot_be_extended(uow: UowFactory, world: World) -> None:
    finding = add_finding(uow, world)
    receipt = submit_rectification(uow(), world.liaison_a, finding.id, "已整改")
    accept_rectification(uow(), world.coordinator, receipt.rectification_id)
    with unchanged(uow), pytest.raises(Invalid) as error:
        ask_for_finding(uow, world, finding.id)
    assert_code(error, "finding_already_accepted")


def test_an_extension_is_not_granted_once_the_finding_was_accepted(
    uow: UowFactory, world: World
) -> None:
    finding = add_finding(uow, world)
    request = ask_for_finding(uow, world, finding.id)
    receipt = submit_rectification(uow(), world.liaison_a, finding.id, "已整改")
    accept_rectification(uow(), world.coordinator, receipt.rectification_id)
    with unchanged(uow), pytest.raises(Invalid) as error:
        decide_extension(uow(), world.coordinator, request.id, grant=True)
    assert_code(error, "finding_already_accepted")
    assert decide_extension(uow(), world.coordinator, request.id, grant=False).decision == (
        "refused"
    )


def test_a_liaison_cannot_ask_for_another_units_finding(uow: UowFactory, world: World) -> None:
    theirs = add_finding(uow, world, unit=world.unit_b)
    with unchanged(uow), pytest.raises(NotFound) as error:
        ask_for_finding(uow, world, theirs.id)
    assert_code(error, "finding_not_found")


def test_an_unknown_finding_cannot_be_extended(uow: UowFactory, world: World) -> None:
    with unchanged(uow), pytest.raises(NotFound) as error:
        ask_for_finding(uow, world, 999)
    assert_code(error, "finding_not_found")


@pytest.mark.parametrize("new_date", [DEADLINE, DEADLINE - timedelta(days=1)])
def test_the_new_date_must_be_after_the_findings_deadline(
    uow: UowFactory, world: World, new_date: date
) -> None:
    finding = add_finding(uow, world)
    with unchanged(uow), pytest.raises(Invalid) as error:
        ask_for_finding(uow, world, finding.id, new_date)
    assert_code(error, "extension_date_not_later")


def test_an_extension_needs_a_reason(uow: UowFactory, world: World) -> None:
    finding = add_finding(uow, world)
    with unchanged(uow), pytest.raises(Invalid) as error:
        ask_for_finding(uow, world, finding.id, reason="  ")
    assert_code(error, "extension_reason_empty")


@pytest.mark.parametrize(
    "target",
    [
        {},
        {"finding_id": 1, "report_year": 2025, "report_month": 3},
        {"report_year": 2025},
        {"report_month": 3},
    ],
)
def test_an_extension_is_for_exactly_one_finding_or_report_month(
    uow: UowFactory, world: World, target: dict[str, int]
) -> None:
    add_finding(uow, world)
    with unchanged(uow), pytest.raises(Invalid) as error:
        request_extension(uow(), world.liaison_a, world.unit_a, "理由", NEW_DATE, **target)
    assert_code(error, "extension_target_ambiguous")


# --- reports ---------------------------------------------------------------------------------


def test_a_granted_report_extension_is_read_as_the_reports_new_deadline(
    uow: UowFactory, world: World
) -> None:
    request = ask_for_report(uow, world)
    assert granted(uow, world.unit_a) is None
    decide_extension(uow(), world.coordinator, request.id, grant=True)
    assert granted(uow, world.unit_a) == date(2025, 4, 10)
    assert granted(uow, world.unit_b) is None
    assert granted(uow, world.unit_a, month=4) is None


def test_a_refused_report_extension_changes_no_deadline(uow: UowFactory, world: World) -> None:
    request = ask_for_report(uow, world)
    decide_extension(uow(), world.coordinator, request.id, grant=False)
    assert granted(uow, world.unit_a) is None


@pytest.mark.parametrize("new_date", [MARCH_DUE, date(2025, 4, 1)])
def test_the_new_date_must_be_after_the_reports_due_day(
    uow: UowFactory, world: World, new_date: date
) -> None:
    with unchanged(uow), pytest.raises(Invalid) as error:
        ask_for_report(uow, world, new_date)
    assert_code(error, "extension_date_not_later")
    assert error.value.params["current"] == MARCH_DUE


def test_a_second_report_extension_must_go_past_the_granted_one(
    uow: UowFactory, world: World
) -> None:
    request = ask_for_report(uow, world, date(2025, 4, 10))
    decide_extension(uow(), world.coordinator, request.id, grant=True)
    with unchanged(uow), pytest.raises(Invalid) as error:
        ask_for_report(uow, world, date(2025, 4, 8))
    assert error.value.params["current"] == date(2025, 4, 10)
    later = ask_for_report(uow, world, date(2025, 4, 15))
    decide_extension(uow(), world.coordinator, later.id, grant=True)
    assert granted(uow, world.unit_a) == date(2025, 4, 15)


def test_a_request_names_the_deadline_it_would_move_a_granted_extension_included(
    uow: UowFactory, world: World
) -> None:
    first = ask_for_report(uow, world, date(2025, 4, 10))
    assert current_deadline(uow(), world.coordinator, first.id) == MARCH_DUE
    decide_extension(uow(), world.coordinator, first.id, grant=True)
    second = ask_for_report(uow, world, date(2025, 4, 15))
    assert current_deadline(uow(), world.coordinator, second.id) == date(2025, 4, 10)
    finding = add_finding(uow, world)
    request = ask_for_finding(uow, world, finding.id)
    assert current_deadline(uow(), Actor.operator(), request.id) == DEADLINE


def test_a_requests_deadline_is_for_coordinators_and_known_requests(
    uow: UowFactory, world: World
) -> None:
    request = ask_for_report(uow, world)
    with pytest.raises(Refused) as refused:
        current_deadline(uow(), world.liaison_a, request.id)
    assert_code(refused, "role_not_allowed")
    with pytest.raises(NotFound) as unknown:
        current_deadline(uow(), world.coordinator, 999)
    assert_code(unknown, "extension_not_found")


def test_only_one_request_per_report_month_may_be_pending(uow: UowFactory, world: World) -> None:
    ask_for_report(uow, world)
    with unchanged(uow), pytest.raises(Invalid) as error:
        ask_for_report(uow, world, date(2025, 4, 12))
    assert_code(error, "extension_already_pending")
    assert ask_for_report(uow, world, date(2025, 5, 10), month=4).pending


def test_a_december_report_is_due_in_january_of_the_next_year(
    uow: UowFactory, world: World
) -> None:
    with pytest.raises(Invalid) as error:
        ask_for_report(uow, world, date(2026, 1, 5), month=12)
    assert error.value.params["current"] == date(2026, 1, 5)
    assert ask_for_report(uow, world, date(2026, 1, 6), month=12).pending


@pytest.mark.parametrize("month", [0, 13])
def test_a_report_month_must_be_one_to_twelve(uow: UowFactory, world: World, month: int) -> None:
    with unchanged(uow), pytest.raises(Invalid) as error:
        ask_for_report(uow, world, month=month)
    assert_code(error, "extension_bad_month")


def test_a_report_extension_needs_the_years_plan(uow: UowFactory) -> None:
    world = build_world(uow, plan=False)
    with unchanged(uow), pytest.raises(NotFound) as error:
        ask_for_report(uow, world)
    assert_code(error, "no_plan")


# --- who may ask and decide ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("liaison_b", "not_your_unit"),
        ("coordinator", "role_not_allowed"),
        ("rater", "role_not_allowed"),
        ("viewer", "role_not_allowed"),
    ],
)
def test_only_a_liaison_of_the_unit_asks_for_an_extension(
    uow: UowFactory, world: World, who: str, code: str
) -> None:
    finding = add_finding(uow, world)
    actor: Actor = getattr(world, who)
    with unchanged(uow), pytest.raises(Refused) as error:
        request_extension(uow(), actor, world.unit_a, "理由", NEW_DATE, finding_id=finding.id)
    assert_code(error, code)
    with unchanged(uow), pytest.raises(Refused):
        request_extension(
            uow(), actor, world.unit_a, "理由", date(2025, 4, 10), report_year=2025, report_month=3
        )


@pytest.mark.parametrize("who", ["liaison_a", "rater", "viewer"])
def test_only_coordinators_decide_extensions(uow: UowFactory, world: World, who: str) -> None:
    finding = add_finding(uow, world)
    request = ask_for_finding(uow, world, finding.id)
    with unchanged(uow), pytest.raises(Refused) as error:
        decide_extension(uow(), getattr(world, who), request.id, grant=True)
    assert_code(error, "role_not_allowed")


def test_an_admin_may_decide_an_extension(uow: UowFactory, world: World) -> None:
    request = ask_for_report(uow, world)
    assert decide_extension(uow(), Actor.operator(), request.id, grant=True).decision == "granted"


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("second", [True, False])
def test_an_extension_is_decided_only_once(
    uow: UowFactory, world: World, first: bool, second: bool
) -> None:
    finding = add_finding(uow, world)
    request = ask_for_finding(uow, world, finding.id)
    decide_extension(uow(), world.coordinator, request.id, grant=first)
    with unchanged(uow), pytest.raises(Invalid) as error:
        decide_extension(uow(), world.coordinator, request.id, grant=second)
    assert_code(error, "extension_already_decided")


def test_deciding_an_unknown_request_is_refused(uow: UowFactory, world: World) -> None:
    with unchanged(uow), pytest.raises(NotFound) as error:
        decide_extension(uow(), world.coordinator, 999, grant=True)
    assert_code(error, "extension_not_found")


def test_requests_are_listed_for_coordinators_and_for_their_unit(
    uow: UowFactory, world: World, clock: Any
) -> None:
    finding = add_finding(uow, world)
    first = ask_for_finding(uow, world, finding.id)
    clock.advance(minutes=5)
    second = ask_for_report(uow, world)
    decide_extension(uow(), world.coordinator, first.id, grant=False)
    assert [r.id for r in pending_extensions(uow(), world.coordinator)] == [second.id]
    assert [r.id for r in unit_extensions(uow(), world.liaison_a, world.unit_a)] == [
        second.id,
        first.id,
    ]
    with pytest.raises(Refused):
        unit_extensions(uow(), world.liaison_b, world.unit_a)
    with pytest.raises(Refused):
        pending_extensions(uow(), world.liaison_a)


def test_a_report_already_submitted_has_no_deadline_to_extend(
    uow: UowFactory, world: World
) -> None:
    with uow() as work:
        now = work.now()
        work.session.add(
            ProgressReport(
                unit_id=world.unit_a, year=2025, month=3, version=1, submitted_at=now,
                due_at=now, on_time=True, receipt="R2025-03-test-v1",
            )
        )  # fmt: skip
        work.commit()
    with unchanged(uow), pytest.raises(Invalid) as error:
        ask_for_report(uow, world)
    assert_code(error, "extension_report_already_submitted")
    assert ask_for_report(uow, world, date(2025, 5, 10), month=4).pending  # April is open
