"""A bot world for tests: the real Application on an SQLite database, talking to the fake Bot API.

Two ways to drive it: `step()` hands pending updates to `Application.process_update` one by one
(fast and deterministic; the fake server records every request the bot makes), and
`polling()` runs the real Updater against the fake server over HTTP.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.app import KaoheApplication, build_application, make_deps
from bot.context import BotDeps
from bot.dialogs.engine import Dialog
from bot.fake_bot_api import FakeBotApi, FakeUser
from scoring import BonusItem, GradeRecord, IndicatorValues
from scoring.plan import Grade
from services import dialogs as dialog_service
from services.access import Actor, Role
from services.files.plan_file import default_plan_text
from services.findings import FindingView, record_finding
from services.people import issue_invite, person_session, register_units
from services.plans import load_plan
from services.sample_district import (
    sample_bonus,
    sample_grades,
    sample_plan,
    sample_units,
    sample_values,
)
from services.settings import Settings
from services.tasks import TaskInput, import_tasks
from services.year_data import import_bonus, import_grades, import_values
from storage.clock import FixedClock
from storage.database import Database, open_database
from storage.repositories.year_data import ValueSets, YearUnits
from storage.unit_of_work import UnitOfWork
from tests.fakes.bot_api import polling as run_polling

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPERATOR = Actor.operator("test")
START = datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)  # where a world's clock stands
COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="区发改局")
FINDING = "项目台账不完整，缺少三月进度记录"  # what finding() records unless told


@dataclass
class BotWorld:
    """The bot, its database and clock, and the fake Telegram it talks to."""

    server: FakeBotApi
    database: Database
    clock: FixedClock
    deps: BotDeps
    folder: Path
    app: KaoheApplication
    errors: list[BaseException] = field(default_factory=list)

    def uow(self) -> UnitOfWork:
        """A unit of work on the world's database and clock."""
        return UnitOfWork(self.database, self.clock)

    def invite(self, role: Role, unit: str | None = None) -> str:
        """A fresh invitation code."""
        return issue_invite(self.uow(), OPERATOR, role, unit).code

    async def step(self, app: KaoheApplication | None = None) -> None:
        """Hand every pending update to the application (or to `app`, another one on the
        same database and fake server), in order."""
        target = app or self.app
        while updates := self.server.pending_updates:
            self.server.state.confirm_updates(updates[-1]["update_id"] + 1)
            for payload in updates:
                await target.process_update(Update.de_json(payload, target.bot))

    async def join(
        self,
        user_id: int,
        role: Role = Role.LIAISON,
        unit: str | None = "dianzi",
        name: str = "张三",
    ) -> FakeUser:
        """A Telegram user who joined through an invitation."""
        user = self.server.user(user_id, first_name=name)
        user.send_command("/start", self.invite(role, unit if role is Role.LIAISON else None))
        await self.step()
        return user

    def texts(self, user: FakeUser) -> list[str]:
        """The text of every message the bot sent the user, oldest first."""
        return [m.text or "" for m in self.server.messages_to(user.id)]

    def last(self, user: FakeUser) -> Any:
        """The bot's last message to the user."""
        return self.server.last_message_to(user.id)

    @asynccontextmanager
    async def polling(self) -> AsyncIterator[None]:
        """Run the real Updater against the fake server for the body of the block."""
        async with run_polling(self.app):
            yield


def seed(database: Database, clock: FixedClock, year: int = 2025) -> None:
    """The sample district's plan and units."""
    uow = UnitOfWork(database, clock)
    load_plan(uow, OPERATOR, default_plan_text(year), "default")
    register_units(uow, OPERATOR, sample_units())


# Seeded copies of migrated templates, made once per test process (xdist workers each have
# their own): seeding every world again cost as much as the rest of its set-up.
_SEEDED: dict[Path, Path] = {}


def _seeded(template: Path) -> Path:
    """A copy of the migrated SQLite `template` with the sample district seeded at START."""
    seeded = _SEEDED.get(template)
    if seeded is None:
        seeded = template.with_name(f"{template.stem}-seeded{template.suffix}")
        shutil.copyfile(template, seeded)
        database = open_database(f"sqlite:///{seeded}")
        seed(database, FixedClock(START))
        database.dispose()  # closing the last connection folds the WAL back into the file
        _SEEDED[template] = seeded
    return seeded


def unit_id(world: BotWorld, code: str) -> int:
    """The id of a unit by its code (`dianzi` is 店子镇)."""
    return unit_ids(world)[code]


def unit_ids(world: BotWorld) -> dict[str, int]:
    """Every unit's id by its code."""
    with UnitOfWork(world.database, world.clock, read_only=True) as work:
        return {r.code: int(r.id) for r in work.repository(YearUnits).rows()}


def actor_of(world: BotWorld, telegram_id: int) -> Actor:
    """The service actor behind a registered Telegram account."""
    session = person_session(world.uow(), telegram_id)
    assert session is not None, f"no person with Telegram account {telegram_id}"
    return session.actor


def finding(
    world: BotWorld,
    code: str = "dianzi",
    description: str = FINDING,
    deadline: date = date(2025, 3, 31),
    found_on: date = date(2025, 3, 1),
) -> FindingView:
    """A finding recorded by the coordinators for a unit (an on-site inspection)."""
    return record_finding(
        world.uow(), COORDINATOR, unit_id(world, code), description, "on_site_inspection",
        found_on, deadline,
    )  # fmt: skip


def draft(world: BotWorld, telegram_id: int, kind: str = "rectify") -> Any:
    """The person's stored draft of a dialog kind (None when there is none)."""
    person_id = actor_of(world, telegram_id).person_id
    assert person_id is not None
    return dialog_service.dialog_of_kind(world.uow(), person_id, kind)


def value_years(world: BotWorld) -> list[tuple[int, int]]:
    """Every stored (year, version) of indicator values of 2024 and 2025."""
    with UnitOfWork(world.database, world.clock, read_only=True) as work:
        sets = work.repository(ValueSets)
        # versions() gives published sets only, so every version is set
        return [(y, s.version or 0) for y in (2024, 2025) for s in sets.versions(y)]


def seed_a_task(world: BotWorld) -> None:
    """店子镇 gets one task of 2025 (T1 招商引资, key work, due 30 June)."""
    task = TaskInput("dianzi", "T1", "招商引资", due_date=date(2025, 6, 30), work_item="key_work")
    import_tasks(world.uow(), OPERATOR, 2025, [task])


def seed_scores(world: BotWorld, year: int = 2025) -> None:
    """The sample district's values, grades and bonus, stored as a coordinator would."""
    plan = sample_plan()
    codes = [i.code for i in plan.development.indicators]
    rows = {str(r[0]): dict(zip(codes, r[1:], strict=True)) for r in sample_values(plan)}
    values = IndicatorValues.from_rows(rows, codes)  # type: ignore[arg-type]
    import_values(world.uow(), OPERATOR, year, values, "values.xlsx")
    grades = [
        GradeRecord(str(u), str(i), str(p), str(r), Grade(str(g)))
        for u, i, p, r, g in sample_grades(plan)
    ]
    import_grades(world.uow(), OPERATOR, year, grades, "grades.xlsx")
    bonus = [BonusItem(str(u), str(t), a == "是", str(e)) for u, t, e, a in sample_bonus()]
    import_bonus(world.uow(), OPERATOR, year, bonus, "bonus.xlsx")


def new_application(
    world: BotWorld, *, updater: bool, jobs: bool = False, extra_dialogs: Sequence[Dialog] = ()
) -> KaoheApplication:
    """Another Application on the same database (a restart, or one with `extra_dialogs`);
    jobs only if asked for."""
    return build_application(
        world.deps,
        world.server.token,
        base_url=world.server.base_url,
        base_file_url=world.server.base_file_url,
        updater=updater,
        jobs=jobs,
        extra_dialogs=extra_dialogs,
    )


@asynccontextmanager
async def bot_world(
    template: Path,
    folder: Path,
    *,
    updater: bool = False,
    admin_ids: tuple[int, ...] = (),
    database_url: str | None = None,
) -> AsyncIterator[BotWorld]:
    """A running world: database from the migrated template (or the empty, migrated database
    at `database_url`), the sample plan and units."""
    clock = FixedClock(START)
    if database_url is None:
        path = folder / "kaohe.db"
        shutil.copyfile(_seeded(template), path)
        database = open_database(f"sqlite:///{path}")
    else:
        database = open_database(database_url)
        seed(database, clock)
    settings = Settings(
        data_dir=folder,
        telegram_bot_token="123:TEST",  # type: ignore[arg-type]
        admin_ids=list(admin_ids),
    )
    async with FakeBotApi() as server:
        deps = make_deps(settings, database, clock)
        deps.errors = []  # every error the application's error handler saw
        app = build_application(
            deps,
            server.token,
            base_url=server.base_url,
            base_file_url=server.base_file_url,
            updater=updater,
            jobs=False,  # tests drive the jobs themselves, on the fixed clock
        )
        world = BotWorld(server, database, clock, deps, folder, app, deps.errors)
        if updater:
            yield world
        else:
            await app.initialize()
            try:
                yield world
            finally:
                await app.shutdown()
        assert server.internal_errors == []
    database.dispose()
