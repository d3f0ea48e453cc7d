"""Odd days: the bot's clock moved across every day of 2024-2029 (00:05, 09:00 and 23:55 in the
plan's time zone) through the date logic of dialogs, deadlines, reminders, /extend and /matrix;
the real dialogs through the Application on every 29 February, month end and year end; and the
same for a server whose own time zone is America/New_York, across its DST changes."""

from __future__ import annotations

import os
import time as time_module
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.dialogs.extend import QUICK_DAYS, parse_date
from bot.dialogs.finding import parse_day
from bot.dialogs.matrix import parse_month
from bot.fake_bot_api import FakeUser
from scoring import Plan
from scoring.calendar import (
    end_of_day,
    last_due_month,
    local_date,
    report_due_at,
    report_due_date,
    report_months,
)
from scoring.calendar import month_due as due_month
from services import dialogs as dialog_service
from services.access import Actor, Role
from services.extensions import decide_extension, pending_extensions
from services.files.plan_file import default_plan_text, load_plan_text
from services.findings import accept_rectification, finding_rectifications, record_finding
from services.people import person_session, register_person
from services.plans import load_plan
from services.reminders import (
    Deadline,
    due_reminders,
    in_quiet_hours,
    ladder,
    plan_reminders,
    send_time,
)
from services.tasks import TaskInput, import_tasks
from storage.clock import FixedClock
from storage.database import Database
from storage.unit_of_work import UnitOfWork
from tests.bot.steps import say, tap_starting
from tests.bot.world import OPERATOR, BotWorld, bot_world, seed, unit_id
from tests.fakes.bot_api import record_errors, tiny_png

SHANGHAI = "Asia/Shanghai"
YEARS = range(2024, 2030)
TIMES = (time(0, 5), time(9, 0), time(23, 55))
COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="区发改局")
PLANS: dict[int, Plan] = {
    y: load_plan_text(default_plan_text(y), f"plan {y}")
    for y in range(YEARS[0] - 1, YEARS[-1] + 2)
}


def every_day() -> Iterator[date]:
    """Every calendar day from 2024-01-01 to 2029-12-31."""
    day = date(YEARS[0], 1, 1)
    while day.year in YEARS:
        yield day
        day += timedelta(days=1)


def moment(day: date, at: time, zone: str = SHANGHAI) -> datetime:
    """A local moment, in UTC as the bot's clock gives it."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def is_odd(day: date) -> bool:
    """29 February, the last day of a month, the first and last day of a year."""
    return (
        (day.month, day.day) == (2, 29)
        or (day + timedelta(days=1)).day == 1
        or (
            day.month,
            day.day,
        )
        == (1, 1)
    )


@pytest.fixture
def server_in_new_york() -> Iterator[None]:
    """The server's own time zone is America/New_York (TZ and tzset), restored afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time_module.tzset()
    try:
        assert time_module.localtime(datetime(2025, 7, 1, tzinfo=UTC).timestamp()).tm_isdst == 1
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time_module.tzset()


# --- the pure date logic, every moment -------------------------------------------------------


def check_moment(now: datetime, today: date) -> None:
    """Every date function of the bot at `now` (local day `today` in Shanghai)."""
    plan = PLANS[today.year]
    due_day = plan.schedule.monthly_report_due_day
    assert local_date(now, SHANGHAI) == today
    # A deadline day ends at the next local midnight, after every moment of that day.
    ends = end_of_day(today, SHANGHAI)
    assert now < ends <= now + timedelta(days=1)
    assert local_date(ends - timedelta(microseconds=1), SHANGHAI) == today
    assert local_date(ends, SHANGHAI) == today + timedelta(days=1)
    # This month's report is due on the due day of the next month, and not a moment earlier.
    due = report_due_date(today.year, today.month, due_day)
    assert (due.year * 12 + due.month) - (today.year * 12 + today.month) == 1
    assert due.day == due_day
    assert report_due_at(today.year, today.month, due_day, SHANGHAI) == end_of_day(due, SHANGHAI)
    # /extend: the month now due is the next deadline, the month before it is already past.
    year, month = due_month(today, due_day)
    assert report_due_date(year, month, due_day) >= today
    before = (year, month - 1) if month > 1 else (year - 1, 12)
    assert report_due_date(*before, due_day) < today
    # /extend: a date typed as the deadline plus the quick days, full or month-day.
    for days in QUICK_DAYS:
        later = today + timedelta(days=days)
        assert parse_date(later.isoformat(), today) == later
        assert parse_date(f"{later.month}-{later.day}", today) == later
        assert parse_date(f"{later.year}年{later.month}月{later.day}日", today) == later
    leap = parse_date("2-29", today)
    assert leap is None or (leap.month, leap.day) == (2, 29)
    # /finding: a day typed with or without its year.
    assert parse_day(today.isoformat(), today) == today
    assert parse_day(f"{today.month}月{today.day}日", today) == today
    assert parse_day(today.strftime("%Y%m%d"), today) == today
    # /matrix: the last month due has passed its deadline, the month after it has not.
    found = last_due_month({y: PLANS[y] for y in (today.year - 1, today.year) if y in PLANS}, now)
    assert found is not None
    y, m = found
    assert report_due_at(y, m, due_day, SHANGHAI) <= now
    after = (y, m + 1) if m < 12 else (y + 1, 1)
    assert after[0] > today.year or report_due_at(*after, due_day, SHANGHAI) > now
    assert parse_month(f"{today.year}-{today.month:02d}", today.year) == (today.year, today.month)
    # /report: this month and, until its deadline has passed, the month before.
    last = before_month(today)
    months, first = report_months(now, plan, PLANS.get(last[0]))
    assert months[0] == (today.year, today.month) and first in months
    last_due = report_due_at(*last, due_day, SHANGHAI)
    assert first == (last if last in months and now < last_due else months[0])
    # Reminders: each step of the ladder goes out on its day (or after the quiet hours),
    # never inside them, and never before its day begins.
    deadline = Deadline("finding", "finding:1", 1, "店子镇", today, plan, {"finding_id": 1})
    for _kind, day, _params in ladder(deadline):
        at = send_time(day, plan.schedule.send_at, plan)
        assert not in_quiet_hours(at, plan)
        assert local_date(at, SHANGHAI) in (day, day + timedelta(days=1))


def before_month(today: date) -> tuple[int, int]:
    """The (year, month) before `today`'s."""
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)


def test_every_moment_of_six_years_through_the_date_logic() -> None:
    checked = 0
    for day in every_day():
        for at in TIMES:
            check_moment(moment(day, at), day)
            checked += 1
    assert checked == 3 * (365 * 6 + 2)


def test_every_moment_with_the_server_in_new_york(server_in_new_york: None) -> None:
    for day in every_day():
        for at in TIMES:
            check_moment(moment(day, at), day)
    # The server's own DST changes move nothing: the moments around New York's spring and
    # autumn changes are still the same Shanghai days.
    for change in (date(2025, 3, 9), date(2025, 11, 2), date(2028, 3, 12), date(2028, 11, 5)):
        for hour in range(0, 6):
            there = datetime.combine(change, time(hour), tzinfo=ZoneInfo("America/New_York"))
            check_moment(there.astimezone(UTC), local_date(there, SHANGHAI))


# --- the real dialogs on odd days ------------------------------------------------------------


def odd_days() -> list[date]:
    """Every 29 February, month end and year end of the sweep, and every 1 January."""
    return [day for day in every_day() if is_odd(day)]


def test_a_first_dialog_ends_at_every_odd_moment(database: Database) -> None:
    # A person's first finished dialog leaves a marker row; on 29 February it used to fail.
    clock = FixedClock(moment(date(2024, 1, 1), TIMES[0]))

    def uow() -> UnitOfWork:
        return UnitOfWork(database, clock)

    seed(database, clock)
    for number, (day, at) in enumerate((d, t) for d in odd_days() for t in TIMES):
        clock.set(moment(day, at))
        person = register_person(uow(), OPERATOR, 10_000 + number, "张三", Role.VIEWER).id
        dialog_service.start_dialog(uow(), person, "rectify", "text", {"n": 1})
        dialog_service.end_dialog(uow(), person, "rectify")
        assert dialog_service.current_dialog(uow(), person) is None, (day, at)


def full_moments() -> list[datetime]:
    """Where whole dialogs run through the Application: every 29 February at each time, and
    the last minutes of every year."""
    leap = [moment(d, at) for d in odd_days() if (d.month, d.day) == (2, 29) for at in TIMES]
    return leap + [moment(date(year, 12, 31), TIMES[-1]) for year in YEARS]


def month_end_moments() -> list[datetime]:
    """Every other month end and 1 January, each at one of the three times."""
    special = {local_date(m, SHANGHAI) for m in full_moments()}
    return [moment(d, TIMES[d.month % 3]) for d in odd_days() if d not in special]


@pytest.fixture
async def sweep_world(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[BotWorld]:
    """A bot world with a plan and a task of 店子镇 for every year of the sweep."""
    async with bot_world(sqlite_template, tmp_path) as world:
        for year in PLANS:
            if year != 2025:
                load_plan(world.uow(), OPERATOR, default_plan_text(year), "default")
            task = TaskInput("dianzi", "T1", "招商引资项目落地", "", "签约 5 个项目",
                             date(year, 12, 31), "key_work")  # fmt: skip
            import_tasks(world.uow(), OPERATOR, year, [task])
        yield world


async def live_through(world: BotWorld, liaison: FakeUser, coordinator: FakeUser) -> None:
    """One odd moment as people meet it: /extend, /rectify (the liaison's first finished
    dialog), /report, /matrix, and a reminder tick."""
    now = world.clock.now()
    today = local_date(now, SHANGHAI)
    where = f"at {now.astimezone(ZoneInfo(SHANGHAI))}"
    found = record_finding(
        world.uow(), COORDINATOR, unit_id(world, "dianzi"), f"{today} 台账缺失",
        "on_site_inspection", today, today + timedelta(days=10),
    )  # fmt: skip
    await say(world, liaison, "/rectify")
    await tap_starting(world, liaison, f"#{found.id} ")
    await say(world, liaison, "已补齐台账")
    liaison.send_photo(tiny_png())
    await world.step()
    await tap_starting(world, liaison, "✅ 完成")
    await tap_starting(world, liaison, "✅ 提交")
    assert "整改已提交" in world.texts(liaison)[-1], where
    assert dialog_service.current_dialog(world.uow(), person_id(world, liaison)) is None, where
    [stored] = finding_rectifications(world.uow(), COORDINATOR, found.id)
    accept_rectification(world.uow(), COORDINATOR, stored.id)

    await say(world, liaison, "/extend")
    await tap_starting(world, liaison, "📅 ")
    await say(world, liaison, "人手不足")
    await tap_starting(world, liaison, "+7 ")
    await tap_starting(world, liaison, "✅")
    assert "延期申请已提交" in world.texts(liaison)[-1], where
    year, month = due_month(today, PLANS[today.year].schedule.monthly_report_due_day)
    [request] = pending_extensions(world.uow(), COORDINATOR)
    assert (request.report_year, request.report_month) == (year, month), where
    decide_extension(world.uow(), COORDINATOR, request.id, False, "不予延期")

    await say(world, liaison, "/report")
    assert "已取消" in await say(world, liaison, "/cancel"), where
    assert "年" in await say(world, coordinator, "/matrix"), where
    plan_reminders(world.uow())
    due_reminders(world.uow(), "sweep")


def person_id(world: BotWorld, user: FakeUser) -> int:
    """The person id of a Telegram user."""
    session = person_session(world.uow(), user.id)
    assert session is not None and session.actor.person_id is not None
    return session.actor.person_id


async def test_the_dialogs_on_every_29_february_month_end_and_year_end(
    sweep_world: BotWorld,
) -> None:
    world = sweep_world
    errors = record_errors(world.app)
    coordinator = await world.join(2001, Role.COORDINATOR)
    for number, now in enumerate(full_moments()):
        world.clock.set(now)
        liaison = await world.join(3000 + number, Role.LIAISON, "dianzi")
        await live_through(world, liaison, coordinator)
    # Every other month end: the month due and its deadline in the list of /extend.
    liaison = await world.join(1001, Role.LIAISON, "dianzi")
    for now in month_end_moments():
        world.clock.set(now)
        today = local_date(now, SHANGHAI)
        year, month = due_month(today, 5)
        due = report_due_date(year, month, 5)
        listing = await say(world, liaison, "/extend")
        assert f"{year} 年 {month} 月进展报送　截止：{due}" in listing, now
    assert errors == []


async def test_the_dialogs_with_the_server_in_new_york(
    sweep_world: BotWorld, server_in_new_york: None
) -> None:
    world = sweep_world
    errors = record_errors(world.app)
    coordinator = await world.join(2001, Role.COORDINATOR)
    zone = ZoneInfo("America/New_York")
    # 29 February, New York's spring-forward and fall-back nights, New Year's Eve.
    for number, (day, at) in enumerate(
        (
            (date(2028, 2, 29), time(11, 0)),
            (date(2028, 3, 12), time(2, 30)),
            (date(2028, 11, 5), time(1, 30)),
            (date(2028, 12, 31), time(10, 55)),
        )
    ):
        world.clock.set(datetime.combine(day, at, tzinfo=zone).astimezone(UTC))
        liaison = await world.join(3000 + number, Role.LIAISON, "dianzi")
        await live_through(world, liaison, coordinator)
    assert errors == []
