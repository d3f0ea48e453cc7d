"""Reminders planned from the deadlines, claimed once, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.access import Actor
from services.extensions import decide_extension, request_extension
from services.files.plan_file import default_plan_text, load_plan_text
from services.plans import load_plan
from services.reminders import (
    CATCH_UP,
    Outgoing,
    due_reminders,
    mark_failed,
    mark_sent,
    overdue_details,
    plan_reminders,
    send_time,
)
from services.reports import ReportEntryInput, close_month, submit_report
from services.tasks import TaskInput, import_tasks, tasks_of_unit
from storage.clock import FixedClock
from storage.models import ReminderRow
from tests.services.district import UowFactory, World, add_finding, build_world

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPERATOR = Actor.operator("test")
LIAISONS_A = (2001, 2002)
COORDINATORS = (1001, 1002)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def world(uow: UowFactory) -> World:
    """Towns A and B with liaisons and tasks, two coordinators, the 2025 plan."""
    w = build_world(uow)
    import_tasks(
        uow(),
        OPERATOR,
        2025,
        [TaskInput(u, "T1", f"{u} task", work_item="key_work") for u in ("A", "B")],
    )
    # January was closed before the tests start: its missing reports are settled, not owed.
    close_month(uow(), w.coordinator, 2025, 1)
    return w


Sent = tuple[int, str, Any]


def tick(uow: UowFactory, scheduler: str = "s1") -> list[Outgoing]:
    """One scheduler tick: plan, claim, and report every message sent."""
    plan_reminders(uow())
    out = due_reminders(uow(), scheduler)
    for item in out:
        mark_sent(uow(), scheduler, item)
    return out


def brief(items: list[Outgoing]) -> list[Sent]:
    """(telegram id, kind, days) of each message."""
    return sorted((i.telegram_user_id, i.kind, i.params.get("days")) for i in items)


def run_days(
    uow: UowFactory, clock: FixedClock, first: date, last: date, hours: tuple[int, ...] = (9,)
) -> dict[date, list[Sent]]:
    """Tick at the given local hours of every day from `first` to `last`."""
    out: dict[date, list[Sent]] = {}
    day = first
    while day <= last:
        for hour in hours:
            clock.set(at(day, hour))
            got = brief(tick(uow))
            if got:
                out.setdefault(day, []).extend(got)
        day += timedelta(days=1)
    return out


def unit_a_liaison_kinds(days: dict[date, list[Sent]], telegram_id: int = 2001) -> dict[date, Any]:
    """What one liaison of unit A got, day by day."""
    return {
        d: [(k, n) for t, k, n in sent if t == telegram_id]
        for d, sent in days.items()
        if any(t == telegram_id for t, _, _ in sent)
    }


def submit(uow: UowFactory, world: World, unit: int, month: int) -> None:
    """A liaison of `unit` submits the month's report."""
    actor = world.liaison_a if unit == world.unit_a else world.liaison_b
    (task,) = tasks_of_unit(uow(), actor, unit, 2025)
    submit_report(uow(), actor, unit, 2025, month, [ReportEntryInput(task.id, "on_track")])


# --- the ladder -------------------------------------------------------------------------------


def test_the_reminder_ladder_over_a_month(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    # February's report is due on 5 March: 3 days before, 1 day before, on the day, then an
    # overdue notice on each of 3 days; coordinators are told from the 3rd overdue day.
    days = run_days(uow, clock, date(2025, 3, 1), date(2025, 3, 31))
    assert unit_a_liaison_kinds(days) == {
        date(2025, 3, 2): [("report_due", 3)],
        date(2025, 3, 4): [("report_due", 1)],
        date(2025, 3, 5): [("report_due", 0)],
        date(2025, 3, 6): [("report_overdue", 1)],
        date(2025, 3, 7): [("report_overdue", 2)],
        date(2025, 3, 8): [("report_overdue", 3)],
    }
    # Coordinators get one digest a day; the escalation is part of it, not a second message.
    coordinator = {d: [k for t, k, _ in s if t == 1001] for d, s in days.items()}
    assert all(kinds == ["digest"] for kinds in coordinator.values())
    assert all(coordinator[date(2025, 3, d)] == ["digest"] for d in range(6, 32))


def test_every_liaison_of_the_unit_is_reminded_once(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    days = run_days(uow, clock, date(2025, 3, 2), date(2025, 3, 2), hours=(9, 10, 15))
    assert [s for s in days[date(2025, 3, 2)] if s[1] == "report_due"] == [
        (2001, "report_due", 3),
        (2002, "report_due", 3),
        (2101, "report_due", 3),
    ]


def test_a_unit_that_submits_stops_getting_reminders(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    clock.set(at(date(2025, 3, 2)))
    tick(uow)
    clock.set(at(date(2025, 3, 3), 15))
    submit(uow, world, world.unit_a, 2)
    days = run_days(uow, clock, date(2025, 3, 3), date(2025, 3, 12))
    assert unit_a_liaison_kinds(days) == {}
    assert unit_a_liaison_kinds(days, 2101)[date(2025, 3, 4)] == [("report_due", 1)]
    with uow() as work:
        skipped = work.session.execute(
            select(ReminderRow).where(
                ReminderRow.telegram_user_id == 2001, ReminderRow.status == "skipped"
            )
        ).scalars()
        assert {r.error for r in skipped} == {"no_longer_due"}


def test_a_findings_rectification_deadline_is_reminded(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    finding = add_finding(uow, world, deadline=date(2025, 3, 20), found_on=date(2025, 3, 1))
    days = run_days(uow, clock, date(2025, 3, 10), date(2025, 3, 25))
    got = {
        d: [x for x in v if x[0] == "finding_due" or x[0] == "finding_overdue"]
        for d, v in unit_a_liaison_kinds(days).items()
    }
    assert {d: v for d, v in got.items() if v} == {
        date(2025, 3, 17): [("finding_due", 3)],
        date(2025, 3, 19): [("finding_due", 1)],
        date(2025, 3, 20): [("finding_due", 0)],
        date(2025, 3, 21): [("finding_overdue", 1)],
        date(2025, 3, 22): [("finding_overdue", 2)],
        date(2025, 3, 23): [("finding_overdue", 3)],
    }
    assert finding.id


def test_an_extension_moves_the_reminders(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    clock.set(at(date(2025, 3, 2)))
    tick(uow)
    request = request_extension(
        uow(),
        world.liaison_a,
        world.unit_a,
        "系统故障",
        date(2025, 3, 10),
        report_year=2025,
        report_month=2,
    )
    decide_extension(uow(), world.coordinator, request.id, True)
    days = run_days(uow, clock, date(2025, 3, 3), date(2025, 3, 14))
    assert unit_a_liaison_kinds(days) == {
        date(2025, 3, 7): [("report_due", 3)],
        date(2025, 3, 9): [("report_due", 1)],
        date(2025, 3, 10): [("report_due", 0)],
        date(2025, 3, 11): [("report_overdue", 1)],
        date(2025, 3, 12): [("report_overdue", 2)],
        date(2025, 3, 13): [("report_overdue", 3)],
    }


# --- quiet hours and time zones ---------------------------------------------------------------


def test_a_reminder_due_in_quiet_hours_goes_when_they_end() -> None:
    plan = load_plan_text(default_plan_text(2025))
    assert send_time(date(2025, 3, 2), "23:00", plan) == at(date(2025, 3, 3), 8)
    assert send_time(date(2025, 3, 2), "07:00", plan) == at(date(2025, 3, 2), 8)
    assert send_time(date(2025, 3, 2), "09:00", plan) == at(date(2025, 3, 2), 9)


def test_nothing_is_sent_during_quiet_hours(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    text = default_plan_text(2025).replace('send_at: "09:00"', 'send_at: "23:00"')
    load_plan(uow(), OPERATOR, text, "late")
    clock.set(at(date(2025, 3, 1), 23, 30))
    assert tick(uow) == []
    clock.set(at(date(2025, 3, 2), 7, 59))
    assert tick(uow) == []  # the reminder of 1 March? none; of 2 March waits for 08:00
    clock.set(at(date(2025, 3, 2), 23, 0))
    assert tick(uow) == []
    clock.set(at(date(2025, 3, 3), 8, 0))
    got = brief(tick(uow))
    assert (2001, "report_due", 3) in got


@pytest.fixture(params=["UTC", "America/New_York"])
def server_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The process's local time zone set to each of two zones, then restored."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_the_server_time_zone_changes_nothing(
    uow: UowFactory, clock: FixedClock, world: World, server_zone: str
) -> None:
    # 9 March 2025: New York changes to daylight-saving time in the middle of the ladder.
    finding = add_finding(uow, world, deadline=date(2025, 3, 11), found_on=date(2025, 3, 1))
    days = run_days(uow, clock, date(2025, 3, 1), date(2025, 3, 14), hours=(7, 8, 9, 22))
    assert unit_a_liaison_kinds(days) == {
        date(2025, 3, 2): [("report_due", 3)],
        date(2025, 3, 4): [("report_due", 1)],
        date(2025, 3, 5): [("report_due", 0)],
        date(2025, 3, 6): [("report_overdue", 1)],
        date(2025, 3, 7): [("report_overdue", 2)],
        date(2025, 3, 8): [("finding_due", 3), ("report_overdue", 3)],
        date(2025, 3, 10): [("finding_due", 1)],
        date(2025, 3, 11): [("finding_due", 0)],
        date(2025, 3, 12): [("finding_overdue", 1)],
        date(2025, 3, 13): [("finding_overdue", 2)],
        date(2025, 3, 14): [("finding_overdue", 3)],
    }
    assert finding.id


# --- restarts, stale reminders, races ---------------------------------------------------------


def test_a_restart_between_two_reminders_sends_each_once(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    clock.set(at(date(2025, 3, 2)))
    assert (2001, "report_due", 3) in brief(tick(uow, "before-restart"))
    clock.set(at(date(2025, 3, 2), 9, 1))
    assert tick(uow, "after-restart") == []
    clock.set(at(date(2025, 3, 4)))
    assert (2001, "report_due", 1) in brief(tick(uow, "after-restart"))


def test_a_claim_of_a_scheduler_that_died_is_sent_by_the_next(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    clock.set(at(date(2025, 3, 2)))
    plan_reminders(uow())
    claimed = due_reminders(uow(), "died")
    assert claimed
    clock.advance(minutes=1)
    assert due_reminders(uow(), "next") == []  # still held
    clock.advance(minutes=15)
    again = tick(uow, "next")
    assert sorted(i.ids for i in again) == sorted(i.ids for i in claimed)


def test_a_reminder_that_fell_due_while_down_is_sent_once_when_back(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    clock.set(at(date(2025, 3, 1)))
    tick(uow)
    clock.set(at(date(2025, 3, 2), 20))  # down from 09:00 to 20:00
    assert (2001, "report_due", 3) in brief(tick(uow))
    clock.advance(minutes=1)
    assert tick(uow) == []


def test_stale_reminders_are_folded_into_one_catch_up_message(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    clock.set(at(date(2025, 3, 1)))
    add_finding(uow, world, deadline=date(2025, 3, 5), found_on=date(2025, 3, 1))
    tick(uow)
    clock.set(at(date(2025, 3, 5), 12))  # down for three and a half days
    got = tick(uow)
    to_2001 = [i for i in got if i.telegram_user_id == 2001]
    catch_up = [i for i in to_2001 if i.kind == CATCH_UP]
    assert len(catch_up) == 1
    # The report and the finding, each once, with their newest stale reminder.
    assert sorted(k for k, _ in catch_up[0].items) == ["finding_due", "report_due"]
    assert sorted(p["days"] for _, p in catch_up[0].items) == [1, 1]
    # Today's reminders go as they are.
    assert sorted(i.kind for i in to_2001 if i.kind != CATCH_UP) == ["finding_due", "report_due"]
    clock.advance(minutes=1)
    assert tick(uow) == []


def test_two_schedulers_racing_send_each_reminder_once(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    for unit_id in range(3):
        add_finding(uow, world, deadline=date(2025, 3, 2 + unit_id), found_on=date(2025, 3, 1))
    clock.set(at(date(2025, 3, 2)))
    plan_reminders(uow())
    got: dict[str, list[tuple[int, ...]]] = {"one": [], "two": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def scheduler(name: str) -> None:
        try:
            start.wait()
            for _ in range(5):
                plan_reminders(uow())
                for item in due_reminders(uow(), name, limit=3):
                    got[name].append(item.ids)
                    mark_sent(uow(), name, item)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    everything = [i for ids in got["one"] + got["two"] for i in ids]
    assert len(everything) == len(set(everything))
    with uow() as work:
        due = work.session.execute(
            select(ReminderRow.id, ReminderRow.status).where(ReminderRow.send_after <= clock.now())
        ).all()
    assert sorted(everything) == sorted(r.id for r in due if r.status == "sent")
    assert len(everything) >= 9


# --- failures ---------------------------------------------------------------------------------


def test_a_refused_recipient_is_unreachable_and_the_coordinators_are_told_once(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    clock.set(at(date(2025, 3, 2)))
    plan_reminders(uow())
    items = [i for i in due_reminders(uow(), "s") if i.telegram_user_id == 2001]
    assert mark_failed(uow(), "s", items[0], "Forbidden: blocked", unreachable=True) is False
    clock.set(at(date(2025, 3, 4)))
    plan_reminders(uow())
    later = [i for i in due_reminders(uow(), "s") if i.telegram_user_id == 2001]
    mark_failed(uow(), "s", later[0], "Forbidden: blocked", unreachable=True)
    clock.advance(minutes=1)
    told = [i for i in tick(uow, "s") if i.kind == "unreachable"]
    # Told on the first refusal (sent with the 2 March tick's leftovers) and not again.
    with uow() as work:
        notices = (
            work.session.execute(select(ReminderRow).where(ReminderRow.kind == "unreachable"))
            .scalars()
            .all()
        )
    assert sorted(n.telegram_user_id for n in notices) == list(COORDINATORS)
    assert {n.params["name"] for n in notices} == {"甲联络员"}
    assert len(told) <= 2


def test_a_temporary_failure_is_retried_with_a_pause(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    clock.set(at(date(2025, 3, 2)))
    plan_reminders(uow())
    (item,) = [i for i in due_reminders(uow(), "s") if i.telegram_user_id == 2001]
    assert mark_failed(uow(), "s", item, "Timed out") is True
    assert [i for i in due_reminders(uow(), "s") if i.telegram_user_id == 2001] == []
    clock.advance(minutes=1)
    (again,) = [i for i in due_reminders(uow(), "s") if i.telegram_user_id == 2001]
    assert again.ids == item.ids
    mark_sent(uow(), "s", again)
    with uow() as work:
        row = work.session.get(ReminderRow, item.ids[0])
        assert row is not None and (row.status, row.attempts) == ("sent", 1)


def test_a_reminder_that_keeps_failing_is_given_up(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    clock.set(at(date(2025, 3, 2)))
    plan_reminders(uow())
    retried = []
    for _ in range(4):
        (item,) = [i for i in due_reminders(uow(), "s") if i.telegram_user_id == 2001]
        retried.append(mark_failed(uow(), "s", item, "Bad Gateway"))
        clock.advance(minutes=20)
    assert retried == [True, True, True, False]
    assert [i for i in due_reminders(uow(), "s") if i.telegram_user_id == 2001] == []


def test_the_digest_counts_the_escalated_units_and_the_details_list_them_once(
    uow: UowFactory, clock: FixedClock, world: World
) -> None:
    digests: dict[date, dict[str, Any]] = {}
    day = date(2025, 3, 6)
    while day <= date(2025, 3, 8):
        clock.set(at(day, 9))
        plan_reminders(uow())
        for item in due_reminders(uow(), "s1"):
            mark_sent(uow(), "s1", item)
            if item.kind == "digest" and item.telegram_user_id == 1001:
                digests[day] = item.params
        day += timedelta(days=1)
    # Both units owe February's report (due 5 March); escalated from the 3rd overdue day.
    assert digests[date(2025, 3, 7)]["overdue"] == 2
    assert digests[date(2025, 3, 7)]["overdue_units"] == 2
    assert digests[date(2025, 3, 7)]["escalated"] == 0
    assert digests[date(2025, 3, 8)]["escalated"] == 2
    assert all(not isinstance(v, list) for v in digests[date(2025, 3, 8)].values())
    details = overdue_details(uow())
    assert details is not None and details.count == 2
    assert [u["escalated"] for u in details.units] == [True, True]
    assert sorted(len(u["items"]) for u in details.units) == [1, 1]
    assert all(u["items"][0]["days"] == 3 for u in details.units)
