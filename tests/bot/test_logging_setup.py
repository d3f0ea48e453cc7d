"""The bot's log: the scheduler's per-run chatter is quiet, its warnings are not."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from telegram.ext import ApplicationBuilder, CallbackContext

from bot.logging_setup import SCHEDULER_LOGGERS, HideDatabaseDetails, configure_logging
from storage.database import Database
from storage.models import UnitRow

SECRET = "王芳的私人备注 secret-note-7731"


class Collect(logging.Handler):
    """Keeps every record that reaches the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def collected() -> Iterator[Collect]:
    """Logging as `kaohe run` configures it, with every record kept; restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    levels = {name: logging.getLogger(name).level for name in (*SCHEDULER_LOGGERS, "httpx")}
    configure_logging("123:token")
    handler = Collect()
    root.addHandler(handler)
    yield handler
    root.handlers[:], level = saved
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


async def test_jobqueue_runs_log_no_info_lines(collected: Collect) -> None:
    runs: list[int] = []

    async def tick(context: CallbackContext) -> None:  # type: ignore[type-arg]
        runs.append(1)

    application = ApplicationBuilder().token("123:token").updater(None).build()
    assert application.job_queue is not None
    application.job_queue.run_repeating(tick, interval=0.05, first=0.0)
    # The scheduler alone: no Bot API is needed for jobs to run.
    await application.job_queue.start()
    try:
        for _ in range(200):
            if len(runs) >= 4:
                break
            await asyncio.sleep(0.02)
    finally:
        await application.job_queue.stop()
    assert len(runs) >= 4
    chatter = [r for r in collected.records if r.name.startswith("apscheduler")]
    assert [r.getMessage() for r in chatter if r.levelno < logging.WARNING] == []


def test_scheduler_warnings_and_errors_still_reach_the_log(collected: Collect) -> None:
    for name in SCHEDULER_LOGGERS:
        logging.getLogger(name).warning("run of job missed by 5 seconds")
        logging.getLogger(name).info("Running job")
    assert [r.levelno for r in collected.records] == [logging.WARNING] * len(SCHEDULER_LOGGERS)


def test_a_database_error_in_the_log_repeats_no_value_of_the_failing_row(
    database: Database, collected: Collect
) -> None:
    row = {"group": "town", "active": True, "created_at": datetime.now(UTC)}
    with database.engine.begin() as conn:
        conn.execute(insert(UnitRow), {**row, "code": "dianzi", "name": SECRET})
    try:
        with database.engine.begin() as conn:
            # The same name again: PostgreSQL's DETAIL line would repeat it.
            conn.execute(insert(UnitRow), {**row, "code": "xiji", "name": SECRET})
    except IntegrityError:
        logging.getLogger("bot.handlers.common").exception("error while handling an update")
    [record] = [r for r in collected.records if r.exc_info]
    [configured] = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, HideDatabaseDetails) for f in h.filters)
    ]
    line = configured.format(record)
    assert "IntegrityError" in line
    assert SECRET not in line
