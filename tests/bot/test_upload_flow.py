"""The values workbook's whole way through the real Updater and the fake Bot API over HTTP:
uploaded, refused for a bad row, corrected, confirmed, and found in the exported report."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from bot.fake_bot_api import FakeUser
from services.access import Role
from services.unit_report import write_year_report
from tests.bot.workbooks import XLSX, values_rows, values_workbook
from tests.bot.world import BotWorld, bot_world
from tests.fakes.bot_api import record_errors
from tests.texts import text_of

COORDINATOR = 9001


def _texts(world: BotWorld, user: FakeUser) -> list[str]:
    return [m.text or "" for m in world.server.messages_to(user.id)]


async def _wait_for_text(world: BotWorld, user: FakeUser, part: str) -> str:
    return await world.server.wait_for(
        lambda: next((t for t in reversed(_texts(world, user)) if part in t), ""),
        timeout=15,
    )


async def test_a_values_workbook_is_refused_corrected_confirmed_and_exported(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with bot_world(sqlite_template, tmp_path, updater=True) as world:
        errors = record_errors(world.app)
        async with world.polling():
            user = world.server.user(COORDINATOR, first_name="王科长")
            user.send_command("/start", world.invite(Role.COORDINATOR))
            await _wait_for_text(world, user, "王科长")

            bad = values_rows()
            bad[1][1] = "七点二五"  # dianzi's gdp_growth, Excel row 3
            user.send_document(values_workbook(bad), "2025年指标值.xlsx", XLSX)
            refusal = await _wait_for_text(world, user, "未导入任何内容")
            assert "第 3 行" in refusal and "七点二五" in refusal

            user.send_document(values_workbook(), "2025年指标值.xlsx", XLSX)
            await _wait_for_text(world, user, "校验通过")
            summary = world.server.last_message_to(user.id)
            assert "镇街：10 个（共 10 个）" in (summary.text or "")
            user.tap(summary, summary.callback_data(text_of("coord.upload_confirm_button")))
            done = await _wait_for_text(world, user, "已导入")
            assert "为第 1 版" in done
            # The workbook was downloaded through the file URL, as Telegram serves it.
            assert len(world.server.calls("getFile")) == 2

        report = tmp_path / "report.xlsx"
        write_year_report(world.uow(), 2025, report)
        book = openpyxl.load_workbook(report, read_only=True)
        try:
            sheet = book["指标得分"]
            row = next(r for r in sheet.iter_rows(values_only=True) if "dianzi" in r)
        finally:
            book.close()
        assert 7.25 in row  # dianzi's gdp_growth, as corrected and confirmed
        assert errors == []
