"""Evidence through the bot: judged by its content, and gone from the archive when the dialog
that collected it is cancelled; an imported workbook stays."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.fake_bot_api import FakeUser
from services.access import Actor, Role
from services.evidence import prune_evidence
from storage.models import EvidenceRow
from tests.bot.steps import join_coordinator, tap
from tests.bot.test_rectify_dialog import draft, finding, pick
from tests.bot.workbooks import XLSX, values_workbook
from tests.bot.world import BotWorld
from tests.fakes.bot_api import record_errors, tiny_png
from tests.texts import said, text_of

EXE = b"MZ\x90\x00\x03" + b"\x00" * 55 + b"\x40\x00\x00\x00PE\x00\x00" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64


def stored(world: BotWorld) -> list[EvidenceRow]:
    """Every evidence row."""
    with world.uow() as work:
        return list(work.session.execute(select(EvidenceRow).order_by(EvidenceRow.id)).scalars())


def archived(world: BotWorld) -> list[Path]:
    """Every file in the evidence archive (temporary ones included)."""
    root = world.deps.archive.root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def at_the_evidence_step(world: BotWorld) -> FakeUser:
    """A liaison of 店子镇 in /rectify, measures typed, asked for files."""
    liaison = await world.join(1001, Role.LIAISON, "dianzi")
    found = finding(world)
    liaison.send_command("/rectify")
    await world.step()
    await pick(world, liaison, found.id)
    liaison.send_text("已补齐三月进度记录")
    await world.step()
    return liaison


async def test_executables_scripts_and_empty_files_are_refused_by_their_content(
    world: BotWorld,
) -> None:
    errors = record_errors(world.app)
    liaison = await at_the_evidence_step(world)
    for name, content in (("invoice.pdf.exe", EXE), ("整改报告.pdf", ELF), ("空白.pdf", b"")):
        liaison.send_document(content, name, "application/pdf")
        await world.step()
        answer = world.texts(liaison)[-1]
        assert name in answer and "不能作为佐证材料" in answer, answer
        assert "PDF、Word（doc、docx）、Excel（xls、xlsx）和图片" in answer
    assert stored(world) == [] and archived(world) == []
    # The step goes on: a real PDF is taken.
    liaison.send_document(b"%PDF-1.4 rectification report", "整改报告.pdf", "application/pdf")
    await world.step()
    assert len(draft(world, 1001).data["files"]) == 1
    assert errors == []


async def test_cancelling_on_the_summary_removes_the_collected_files(world: BotWorld) -> None:
    liaison = await at_the_evidence_step(world)
    liaison.send_photo(tiny_png())
    await world.step()
    liaison.send_document(b"%PDF-1.4 rectification report", "整改报告.pdf", "application/pdf")
    await world.step()
    assert len(stored(world)) == 2 and len(archived(world)) == 2
    await tap(world, liaison, text_of("evidence.done_button", count=2))
    await tap(world, liaison, text_of("rectify.cancel_button"))
    assert said("rectify.cancelled") in world.texts(liaison)[-1]
    assert stored(world) == []
    assert archived(world) == []


async def test_slash_cancel_mid_collection_removes_the_collected_files(world: BotWorld) -> None:
    liaison = await at_the_evidence_step(world)
    liaison.send_photo(tiny_png())
    await world.step()
    assert len(stored(world)) == 1
    liaison.send_command("/cancel")
    await world.step()
    assert stored(world) == []
    assert archived(world) == []


async def test_a_submitted_rectification_keeps_its_files(world: BotWorld) -> None:
    liaison = await at_the_evidence_step(world)
    liaison.send_photo(tiny_png())
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=1))
    await tap(world, liaison, text_of("rectify.submit_button"))
    liaison.send_command("/cancel")  # nothing left to cancel: nothing removed either
    await world.step()
    removed = prune_evidence(world.uow(), Actor.operator(), world.deps.archive, timedelta(0))
    assert removed.rows == 0
    assert len(stored(world)) == 1 and len(archived(world)) == 1


async def test_a_cancelled_upload_leaves_no_workbook_and_an_imported_one_stays(
    world: BotWorld,
) -> None:
    user = await join_coordinator(world, 7001)
    user.send_document(values_workbook(), "指标值.xlsx", XLSX)
    await world.step()
    assert len(stored(world)) == 1  # archived when the summary is shown
    await tap(world, user, text_of("coord.upload_cancel_button"))
    assert stored(world) == [] and archived(world) == []

    user.send_document(values_workbook(), "指标值.xlsx", XLSX)
    await world.step()
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert "已导入 2025 年度指标值" in world.texts(user)[-1]
    [row] = stored(world)
    assert row.kept_at is not None
    removed = prune_evidence(world.uow(), Actor.operator(), world.deps.archive, timedelta(0))
    assert removed.rows == 0
    assert len(stored(world)) == 1 and len(archived(world)) == 1
