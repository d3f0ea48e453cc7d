"""Findings, rectifications, false reports and good practices, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from services.access import Actor
from services.errors import Invalid, NotFound, Refused
from services.extensions import ExtensionView, decide_extension, request_extension
from services.files.plan_file import default_plan_text
from services.findings import (
    RectificationView,
    accept_rectification,
    confirm_false_report,
    false_report_facts,
    false_reports,
    finding_facts,
    finding_rectifications,
    get_finding,
    open_findings,
    record_finding,
    return_rectification,
    review_queue,
    submit_rectification,
    year_findings,
)
from services.plans import load_plan
from services.practices import good_practices, record_good_practice
from storage.clock import FixedClock
from storage.models import (
    FindingRow,
    ProgressReport,
)
from tests.conftest import SHANGHAI
from tests.services.district import (
    DEADLINE,
    DEADLINE_END,
    FOUND,
    UowFactory,
    World,
    add_evidence,
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


# --- recording findings ------------------------------------------------------------------------


def test_a_coordinator_records_a_finding_that_starts_open(uow: UowFactory, world: World) -> None:
    view = add_finding(uow, world)
    assert view.status == "open"
    assert (view.unit_code, view.unit_name, view.year) == ("A", "甲镇", 2025)
    assert (view.found_on, view.deadline) == (FOUND, DEADLINE)
    assert view.deadline_end == DEADLINE_END
    assert finding_row(uow, view.id).status == "open"


def test_recording_a_finding_names_the_units_active_liaisons_to_tell(
    uow: UowFactory, world: World
) -> None:
    view = add_finding(uow, world)
    assert view.liaison_telegram_ids == (2001, 2002)


def test_recording_a_finding_is_audited(uow: UowFactory, world: World) -> None:
    view = add_finding(uow, world)
    action, entity, before, after = audit_entries(uow)[-1]
    assert (action, entity, before) == ("finding.record", "finding", None)
    assert after is not None
    assert after["deadline"] == "2025-03-10"
    assert after["status"] == "open"
    assert view.id > 0


def test_a_finding_keeps_the_evidence_it_was_recorded_with(uow: UowFactory, world: World) -> None:
    first, second = add_evidence(uow, "u1"), add_evidence(uow, "u2")
    view = add_finding(uow, world, evidence_ids=[second, first, second])
    assert view.evidence_ids == (second, first)
    assert get_finding(uow(), world.coordinator, view.id).evidence_ids == (second, first)


def test_an_admin_may_record_a_finding(uow: UowFactory, world: World) -> None:
    view = record_finding(uow(), Actor.operator(), world.unit_b, "问题", "visit", FOUND, DEADLINE)
    assert view.unit_id == world.unit_b


@pytest.mark.parametrize("who", ["liaison_a", "rater", "viewer"])
def test_only_coordinators_record_findings(uow: UowFactory, world: World, who: str) -> None:
    actor: Actor = getattr(world, who)
    with unchanged(uow), pytest.raises(Refused) as error:
        record_finding(uow(), actor, world.unit_a, "问题", "visit", FOUND, DEADLINE)
    assert_code(error, "role_not_allowed")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"description": "  "}, "finding_description_empty"),
        ({"source": "gossip"}, "finding_unknown_source"),
        ({"deadline": date(2025, 2, 19)}, "finding_deadline_before_found"),
        ({"found_on": date(2025, 3, 2), "deadline": date(2025, 3, 9)}, "finding_found_in_future"),
    ],
)
def test_a_bad_finding_is_refused(
    uow: UowFactory, world: World, overrides: dict[str, Any], code: str
) -> None:
    with unchanged(uow), pytest.raises(Invalid) as error:
        add_finding(uow, world, **overrides)
    assert_code(error, code)


def test_a_finding_may_be_due_on_the_day_it_was_found(uow: UowFactory, world: World) -> None:
    view = add_finding(uow, world, found_on=FOUND, deadline=FOUND)
    assert view.deadline == FOUND


def test_today_counts_in_the_plans_time_zone_when_a_finding_is_recorded(
    uow: UowFactory, world: World, clock: FixedClock
) -> None:
    # 2025-03-01 09:00 in Shanghai is still 28 February in UTC; the finding is not "future".
    clock.set(datetime(2025, 3, 1, 1, 0, tzinfo=SHANGHAI))
    view = add_finding(uow, world, found_on=date(2025, 3, 1), deadline=date(2025, 3, 5))
    assert view.found_on == date(2025, 3, 1)


@pytest.mark.parametrize("unit", ["unknown", "inactive"])
def test_a_finding_of_an_unknown_or_inactive_unit_is_refused(
    uow: UowFactory, world: World, unit: str
) -> None:
    unit_id = 999 if unit == "unknown" else world.inactive_unit
    with unchanged(uow), pytest.raises(NotFound) as error:
        add_finding(uow, world, unit=unit_id)
    assert_code(error, "unknown_unit")


def test_a_finding_with_unknown_evidence_is_refused(uow: UowFactory, world: World) -> None:
    known = add_evidence(uow, "u1")
    with unchanged(uow), pytest.raises(NotFound) as error:
        add_finding(uow, world, evidence_ids=[known, 999])
    assert_code(error, "evidence_not_found")
    assert error.value.params["evidence_id"] == 999


def test_a_finding_is_recorded_without_a_plan_using_the_default_time_zone(
    uow: UowFactory,
) -> None:
    world = build_world(uow, plan=False)
    view = add_finding(uow, world)
    assert view.deadline_end == DEADLINE_END


# --- listing findings ----------------------------------------------------------------------


def test_a_liaison_sees_the_open_findings_of_their_unit_by_deadline(
    uow: UowFactory, world: World
) -> None:
    late = add_finding(uow, world, deadline=date(2025, 4, 1))
    soon = add_finding(uow, world, deadline=date(2025, 3, 5))
    add_finding(uow, world, unit=world.unit_b)
    views = open_findings(uow(), world.liaison_a, world.unit_a)
    assert [v.id for v in views] == [soon.id, late.id]
    assert views[0].liaison_telegram_ids == (2001, 2002)


def test_accepted_findings_are_no_longer_open(uow: UowFactory, world: World) -> None:
    done = add_finding(uow, world)
    still = add_finding(uow, world)
    receipt = submit_rectification(uow(), world.liaison_a, done.id, "已补齐台账")
    accept_rectification(uow(), world.coordinator, receipt.rectification_id)
    views = open_findings(uow(), world.coordinator, world.unit_a)
    assert [v.id for v in views] == [still.id]


@pytest.mark.parametrize("who", ["liaison_b", "rater", "viewer"])
def test_others_cannot_list_a_units_findings(uow: UowFactory, world: World, who: str) -> None:
    add_finding(uow, world)
    with pytest.raises(Refused):
        open_findings(uow(), getattr(world, who), world.unit_a)


def test_a_liaison_cannot_see_a_finding_of_another_unit(uow: UowFactory, world: World) -> None:
    view = add_finding(uow, world)
    with pytest.raises(Refused) as error:
        get_finding(uow(), world.liaison_b, view.id)
    assert_code(error, "not_your_unit")


def test_year_findings_show_a_liaison_only_their_own_unit(uow: UowFactory, world: World) -> None:
    mine = add_finding(uow, world)
    theirs = add_finding(uow, world, unit=world.unit_b)
    assert [v.id for v in year_findings(uow(), world.liaison_a, 2025)] == [mine.id]
    all_ids = [v.id for v in year_findings(uow(), world.coordinator, 2025)]
    assert all_ids == [mine.id, theirs.id]
    assert year_findings(uow(), world.coordinator, 2024) == []


# --- effective status ------------------------------------------------------------------------


def test_an_open_finding_is_overdue_from_the_end_of_its_deadline_day_in_shanghai(
    uow: UowFactory, world: World
) -> None:
    view = add_finding(uow, world)
    assert view.effective_status(DEADLINE_END - timedelta(microseconds=1)) == "open"
    assert view.effective_status(DEADLINE_END) == "overdue"
    assert finding_row(uow, view.id).status == "open"


def test_a_returned_finding_past_its_deadline_is_overdue(uow: UowFactory, world: World) -> None:
    view = add_finding(uow, world)
    receipt = submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    return_rectification(uow(), world.coordinator, receipt.rectification_id, "照片不清楚")
    (returned,) = open_findings(uow(), world.liaison_a, world.unit_a)
    assert returned.status == "returned"
    assert returned.effective_status(DEADLINE_END + timedelta(days=1)) == "overdue"


def test_a_submitted_or_accepted_finding_is_never_shown_overdue(
    uow: UowFactory, world: World
) -> None:
    view = add_finding(uow, world)
    receipt = submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    later = DEADLINE_END + timedelta(days=30)
    assert get_finding(uow(), world.coordinator, view.id).effective_status(later) == "submitted"
    accept_rectification(uow(), world.coordinator, receipt.rectification_id)
    assert get_finding(uow(), world.coordinator, view.id).effective_status(later) == "accepted"


# --- rectifications --------------------------------------------------------------------------


def test_a_liaison_submits_a_rectification_and_gets_a_receipt(
    uow: UowFactory, world: World
) -> None:
    view = add_finding(uow, world)
    evidence = add_evidence(uow, "r1")
    receipt = submit_rectification(uow(), world.liaison_a, view.id, " 已补齐台账 ", [evidence])
    assert receipt.receipt == f"ZG2025-{view.id:05d}-01"
    assert receipt.on_time
    assert receipt.coordinator_telegram_ids == (1001, 1002)
    assert finding_row(uow, view.id).status == "submitted"
    (rectification,) = finding_rectifications(uow(), world.liaison_a, view.id)
    assert (rectification.text, rectification.evidence_ids) == ("已补齐台账", (evidence,))
    assert rectification.decision is None
    actions = [a[0] for a in audit_entries(uow)]
    assert actions[-2:] == ["rectification.submit", "finding.status"]


def test_a_rectification_after_the_deadline_day_is_late(
    uow: UowFactory, world: World, clock: FixedClock
) -> None:
    view = add_finding(uow, world)
    clock.set(DEADLINE_END)
    receipt = submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    assert not receipt.on_time


def test_a_returned_finding_may_be_rectified_again_with_a_new_receipt(
    uow: UowFactory, world: World
) -> None:
    view = add_finding(uow, world)
    first = submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    return_rectification(uow(), world.coordinator, first.rectification_id, "缺照片")
    second = submit_rectification(uow(), world.liaison_a, view.id, "补充照片")
    assert second.receipt == f"ZG2025-{view.id:05d}-02"
    assert finding_row(uow, view.id).status == "submitted"


@pytest.mark.parametrize("status", ["submitted", "accepted"])
def test_a_rectification_is_refused_unless_the_finding_is_open_or_returned(
    uow: UowFactory, world: World, status: str
) -> None:
    view = add_finding(uow, world)
    receipt = submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    if status == "accepted":
        accept_rectification(uow(), world.coordinator, receipt.rectification_id)
    with unchanged(uow), pytest.raises(Invalid) as error:
        submit_rectification(uow(), world.liaison_a, view.id, "再次提交")
    assert_code(error, "finding_not_awaiting_rectification")


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("liaison_b", "not_your_unit"),
        ("coordinator", "role_not_allowed"),
        ("rater", "role_not_allowed"),
        ("viewer", "role_not_allowed"),
    ],
)
def test_only_a_liaison_of_the_unit_submits_its_rectification(
    uow: UowFactory, world: World, who: str, code: str
) -> None:
    view = add_finding(uow, world)
    with unchanged(uow), pytest.raises(Refused) as error:
        submit_rectification(uow(), getattr(world, who), view.id, "已整改")
    assert_code(error, code)


def test_a_rectification_without_text_is_refused(uow: UowFactory, world: World) -> None:
    view = add_finding(uow, world)
    with unchanged(uow), pytest.raises(Invalid) as error:
        submit_rectification(uow(), world.liaison_a, view.id, " \n ")
    assert_code(error, "rectification_text_empty")


def test_a_rectification_of_an_unknown_finding_is_refused(uow: UowFactory, world: World) -> None:
    with unchanged(uow), pytest.raises(NotFound) as error:
        submit_rectification(uow(), world.liaison_a, 999, "已整改")
    assert_code(error, "finding_not_found")


def test_a_rectification_with_unknown_evidence_is_refused(uow: UowFactory, world: World) -> None:
    view = add_finding(uow, world)
    with unchanged(uow), pytest.raises(NotFound) as error:
        submit_rectification(uow(), world.liaison_a, view.id, "已整改", [999])
    assert_code(error, "evidence_not_found")


def test_accepting_a_rectification_closes_the_finding(uow: UowFactory, world: World) -> None:
    view = add_finding(uow, world)
    receipt = submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    decided = accept_rectification(uow(), world.coordinator, receipt.rectification_id)
    assert (decided.decision, decided.reason) == ("accepted", None)
    assert decided.liaison_telegram_ids == (2001, 2002)
    assert decided.on_time
    row = finding_row(uow, view.id)
    assert row.status == "accepted"
    assert row.accepted_at is not None
    (rect_entry, status_entry) = audit_entries(uow)[-2:]
    assert rect_entry[0] == "rectification.accept"
    assert rect_entry[2] is not None and rect_entry[2]["decision"] is None
    assert rect_entry[3]["decision"] == "accepted"
    assert status_entry[1:] == ("finding", {"status": "submitted"}, {"status": "accepted"})


def test_returning_a_rectification_needs_a_reason_and_reopens_the_finding(
    uow: UowFactory, world: World
) -> None:
    view = add_finding(uow, world)
    receipt = submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    with unchanged(uow), pytest.raises(Invalid) as error:
        return_rectification(uow(), world.coordinator, receipt.rectification_id, "  ")
    assert_code(error, "rectification_return_reason_empty")
    decided = return_rectification(uow(), world.coordinator, receipt.rectification_id, "缺照片")
    assert (decided.decision, decided.reason) == ("returned", "缺照片")
    assert finding_row(uow, view.id).status == "returned"


@pytest.mark.parametrize("first", ["accept", "return"])
@pytest.mark.parametrize("second", ["accept", "return"])
def test_a_rectification_is_decided_only_once(
    uow: UowFactory, world: World, first: str, second: str
) -> None:
    view = add_finding(uow, world)
    receipt = submit_rectification(uow(), world.liaison_a, view.id, "已整改")

    def decide(how: str) -> RectificationView:
        if how == "accept":
            return accept_rectification(uow(), world.coordinator, receipt.rectification_id)
        return return_rectification(uow(), world.coordinator, receipt.rectification_id, "不行")

    decide(first)
    with unchanged(uow), pytest.raises(Invalid) as error:
        decide(second)
    assert_code(error, "rectification_already_decided")


@pytest.mark.parametrize("who", ["liaison_a", "rater", "viewer"])
def test_only_coordinators_decide_rectifications(uow: UowFactory, world: World, who: str) -> None:
    view = add_finding(uow, world)
    receipt = submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    actor = getattr(world, who)
    with unchanged(uow), pytest.raises(Refused):
        accept_rectification(uow(), actor, receipt.rectification_id)
    with unchanged(uow), pytest.raises(Refused):
        return_rectification(uow(), actor, receipt.rectification_id, "不行")


def test_deciding_an_unknown_rectification_is_refused(uow: UowFactory, world: World) -> None:
    with unchanged(uow), pytest.raises(NotFound) as error:
        accept_rectification(uow(), world.coordinator, 999)
    assert_code(error, "rectification_not_found")


# --- the review queue ------------------------------------------------------------------------


def test_the_review_queue_holds_submissions_and_requests_oldest_first(
    uow: UowFactory, world: World, clock: FixedClock
) -> None:
    one, two, three = (add_finding(uow, world) for _ in range(3))
    first = submit_rectification(uow(), world.liaison_a, one.id, "已整改")
    clock.advance(minutes=1)
    request = request_extension(
        uow(), world.liaison_a, world.unit_a, "需要更多时间", date(2025, 3, 31), finding_id=two.id
    )
    clock.advance(minutes=1)
    last = submit_rectification(uow(), world.liaison_a, three.id, "已整改")
    clock.advance(minutes=1)
    decided = add_finding(uow, world)
    done = submit_rectification(uow(), world.liaison_a, decided.id, "已整改")
    accept_rectification(uow(), world.coordinator, done.rectification_id)
    queue = review_queue(uow(), world.coordinator)
    assert [type(item).__name__ for item in queue] == [
        "RectificationView",
        "ExtensionView",
        "RectificationView",
    ]
    assert isinstance(queue[0], RectificationView) and queue[0].id == first.rectification_id
    assert isinstance(queue[1], ExtensionView) and queue[1].id == request.id
    assert isinstance(queue[2], RectificationView) and queue[2].id == last.rectification_id
    assert queue[0].unit_name == "甲镇"


def test_a_decided_request_leaves_the_review_queue(uow: UowFactory, world: World) -> None:
    view = add_finding(uow, world)
    request = request_extension(
        uow(), world.liaison_a, world.unit_a, "需要更多时间", date(2025, 3, 31), finding_id=view.id
    )
    decide_extension(uow(), world.coordinator, request.id, grant=False)
    assert review_queue(uow(), world.coordinator) == []


@pytest.mark.parametrize("who", ["liaison_a", "rater", "viewer"])
def test_only_coordinators_see_the_review_queue(uow: UowFactory, world: World, who: str) -> None:
    with pytest.raises(Refused):
        review_queue(uow(), getattr(world, who))


# --- facts for the standings -----------------------------------------------------------------


def overdue_by_id(uow: UowFactory, as_of: datetime, year: int = 2025) -> dict[int, bool]:
    """Finding id -> counts as rectification_overdue as of `as_of`."""
    return {f.finding_id: f.rectification_overdue for f in finding_facts(uow(), year, as_of)}


def test_an_unrectified_finding_is_overdue_only_after_its_deadline_day(
    uow: UowFactory, world: World
) -> None:
    view = add_finding(uow, world)
    assert overdue_by_id(uow, DEADLINE_END - timedelta(microseconds=1)) == {view.id: False}
    assert overdue_by_id(uow, DEADLINE_END) == {view.id: True}
    (fact,) = finding_facts(uow(), 2025, DEADLINE_END)
    assert (fact.unit_id, fact.deadline_end) == (world.unit_a, DEADLINE_END)


def test_a_rectification_in_time_and_still_pending_keeps_a_finding_from_overdue(
    uow: UowFactory, world: World
) -> None:
    view = add_finding(uow, world)
    submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    assert overdue_by_id(uow, DEADLINE_END + timedelta(days=20)) == {view.id: False}


def test_a_rectification_in_time_and_accepted_later_is_not_overdue(
    uow: UowFactory, world: World, clock: FixedClock
) -> None:
    view = add_finding(uow, world)
    receipt = submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    clock.set(DEADLINE_END + timedelta(days=5))
    accept_rectification(uow(), world.coordinator, receipt.rectification_id)
    assert overdue_by_id(uow, DEADLINE_END + timedelta(days=20)) == {view.id: False}


def test_a_rectification_in_time_but_returned_leaves_the_finding_overdue(
    uow: UowFactory, world: World, clock: FixedClock
) -> None:
    view = add_finding(uow, world)
    receipt = submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    returned_at = DEADLINE_END + timedelta(days=5)
    clock.set(returned_at)
    return_rectification(uow(), world.coordinator, receipt.rectification_id, "缺照片")
    # Before the return it was still pending, so as of then the finding was not overdue.
    assert overdue_by_id(uow, returned_at - timedelta(seconds=1)) == {view.id: False}
    assert overdue_by_id(uow, returned_at) == {view.id: True}


def test_a_finding_accepted_after_a_late_rectification_still_counts_overdue(
    uow: UowFactory, world: World, clock: FixedClock
) -> None:
    view = add_finding(uow, world)
    clock.set(DEADLINE_END + timedelta(hours=1))
    receipt = submit_rectification(uow(), world.liaison_a, view.id, "已整改")
    accept_rectification(uow(), world.coordinator, receipt.rectification_id)
    assert overdue_by_id(uow, DEADLINE_END + timedelta(days=20)) == {view.id: True}


def test_a_finding_recorded_after_the_as_of_moment_is_not_a_fact_yet(
    uow: UowFactory, world: World, clock: FixedClock
) -> None:
    clock.set(datetime(2025, 3, 20, 9, 0, tzinfo=SHANGHAI))
    view = add_finding(uow, world)  # already past its deadline when recorded
    assert overdue_by_id(uow, datetime(2025, 3, 15, tzinfo=SHANGHAI)) == {}
    assert overdue_by_id(uow, datetime(2025, 3, 21, tzinfo=SHANGHAI)) == {view.id: True}


def test_finding_facts_are_those_of_the_year_asked(uow: UowFactory, world: World) -> None:
    add_finding(uow, world)
    assert overdue_by_id(uow, DEADLINE_END, year=2024) == {}


def test_finding_facts_can_be_read_inside_an_open_unit_of_work(
    uow: UowFactory, world: World
) -> None:
    view = add_finding(uow, world)
    work = uow()
    with work:
        facts = finding_facts(work, 2025, DEADLINE_END)
        still_open = work.session.get(FindingRow, view.id)
        assert still_open is not None
    assert [f.finding_id for f in facts] == [view.id]


def test_the_deadline_end_follows_the_plans_time_zone(uow: UowFactory) -> None:
    world = build_world(uow, plan=False)
    text = default_plan_text(2025).replace("Asia/Shanghai", "UTC")
    assert "UTC" in text
    load_plan(uow(), Actor.operator(), text, "utc plan")
    view = add_finding(uow, world)
    assert view.deadline_end == datetime(2025, 3, 11, 0, 0, tzinfo=SHANGHAI) + timedelta(hours=8)


# --- false reports ---------------------------------------------------------------------------


def add_report(uow: UowFactory, unit_id: int, year: int = 2025) -> int:
    """A stored progress report version of a unit for January."""
    with uow() as work:
        row = ProgressReport(
            unit_id=unit_id,
            year=year,
            month=1,
            version=1,
            submitted_at=work.now(),
            due_at=work.now(),
            on_time=True,
            receipt=f"R-{unit_id}-{year}",
        )
        work.session.add(row)
        work.commit()
        return row.id


def test_a_coordinator_confirms_a_false_report(uow: UowFactory, world: World) -> None:
    report = add_report(uow, world.unit_a)
    view = confirm_false_report(
        uow(), world.coordinator, world.unit_a, 2025, "虚报完成进度", report_id=report
    )
    assert (view.unit_id, view.year, view.report_id) == (world.unit_a, 2025, report)
    assert [v.id for v in false_reports(uow(), world.coordinator, 2025)] == [view.id]
    action, entity, before, after = audit_entries(uow)[-1]
    assert (action, entity, before) == ("false_report.confirm", "false_report", None)
    assert after is not None and after["report_id"] == report


@pytest.mark.parametrize("who", ["liaison_a", "rater", "viewer"])
def test_only_coordinators_confirm_false_reports(uow: UowFactory, world: World, who: str) -> None:
    with unchanged(uow), pytest.raises(Refused):
        confirm_false_report(uow(), getattr(world, who), world.unit_a, 2025, "虚报")


def test_a_false_report_needs_a_description(uow: UowFactory, world: World) -> None:
    with unchanged(uow), pytest.raises(Invalid) as error:
        confirm_false_report(uow(), world.coordinator, world.unit_a, 2025, "")
    assert_code(error, "false_report_description_empty")


def test_a_false_report_of_an_unknown_unit_is_refused(uow: UowFactory, world: World) -> None:
    with unchanged(uow), pytest.raises(NotFound) as error:
        confirm_false_report(uow(), world.coordinator, 999, 2025, "虚报")
    assert_code(error, "unknown_unit")


def test_a_false_report_naming_an_unknown_report_is_refused(uow: UowFactory, world: World) -> None:
    with unchanged(uow), pytest.raises(NotFound) as error:
        confirm_false_report(uow(), world.coordinator, world.unit_a, 2025, "虚报", report_id=999)
    assert_code(error, "false_report_report_not_found")


@pytest.mark.parametrize("mismatch", ["unit", "year"])
def test_a_false_report_naming_another_units_or_years_report_is_refused(
    uow: UowFactory, world: World, mismatch: str
) -> None:
    report = add_report(uow, world.unit_b if mismatch == "unit" else world.unit_a, 2024)
    year = 2025 if mismatch == "year" else 2024
    with unchanged(uow), pytest.raises(Invalid) as error:
        confirm_false_report(uow(), world.coordinator, world.unit_a, year, "虚报", report)
    assert_code(error, "false_report_report_mismatch")


def test_false_report_facts_count_those_confirmed_by_the_as_of_moment(
    uow: UowFactory, world: World, clock: FixedClock
) -> None:
    first = confirm_false_report(uow(), world.coordinator, world.unit_a, 2025, "虚报一")
    clock.advance(days=10)
    second = confirm_false_report(uow(), world.coordinator, world.unit_b, 2025, "虚报二")
    confirm_false_report(uow(), world.coordinator, world.unit_b, 2024, "去年")
    early = false_report_facts(uow(), 2025, first.confirmed_at + timedelta(days=1))
    assert [(f.false_report_id, f.unit_id) for f in early] == [(first.id, world.unit_a)]
    late = false_report_facts(uow(), 2025, second.confirmed_at)
    assert [f.false_report_id for f in late] == [first.id, second.id]


# --- good practices --------------------------------------------------------------------------


def test_a_coordinator_records_a_good_practice_everyone_can_read(
    uow: UowFactory, world: World
) -> None:
    view = record_good_practice(
        uow(), world.coordinator, world.unit_a, 2025, " 网格化治理 ", "经验做法"
    )
    assert (view.title, view.unit_name) == ("网格化治理", "甲镇")
    for reader in (world.viewer, world.rater, world.liaison_b):
        assert [p.id for p in good_practices(uow(), reader, 2025)] == [view.id]
    assert good_practices(uow(), world.viewer, 2024) == []
    assert audit_entries(uow)[-1][0] == "good_practice.record"


@pytest.mark.parametrize("who", ["liaison_a", "rater", "viewer"])
def test_only_coordinators_record_good_practices(uow: UowFactory, world: World, who: str) -> None:
    with unchanged(uow), pytest.raises(Refused):
        record_good_practice(uow(), getattr(world, who), world.unit_a, 2025, "经验", "")


def test_a_good_practice_needs_a_title_and_a_known_unit(uow: UowFactory, world: World) -> None:
    with unchanged(uow), pytest.raises(Invalid) as error:
        record_good_practice(uow(), world.coordinator, world.unit_a, 2025, " ", "说明")
    assert_code(error, "good_practice_title_empty")
    with unchanged(uow), pytest.raises(NotFound) as missing:
        record_good_practice(uow(), world.coordinator, 999, 2025, "经验", "")
    assert_code(missing, "unknown_unit")


def test_two_rectifications_submitted_at_once_are_taken_one_only(
    uow: UowFactory, world: World
) -> None:
    view = add_finding(uow, world)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(text: str) -> None:
        barrier.wait()
        try:
            submit_rectification(uow(), world.liaison_a, view.id, text)
            outcomes.append("taken")
        except Invalid as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=submit, args=(t,)) for t in ("一", "二")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["finding_not_awaiting_rectification", "taken"]
    assert len(finding_rectifications(uow(), world.coordinator, view.id)) == 1
