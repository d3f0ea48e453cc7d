"""/matrix: a month's reporting states, and the year's picture read back (size, CJK font)."""

from __future__ import annotations

import io
import warnings
from datetime import date, datetime

import matplotlib
import pytest
from matplotlib.backends import backend_agg
from matplotlib.ft2font import FT2Font
from PIL import Image

from bot.dialogs.matrix import parse_month
from services.access import Role
from services.files.charts import (
    STATE_COLOURS,
    MatrixRow,
    cjk_font,
    cjk_font_path,
    configure_matplotlib,
    matrix_size,
    render_matrix,
)
from services.reports import ReportEntryInput, close_month, submit_report
from services.tasks import TaskInput, import_tasks, tasks_of_year
from services.unit_lookup import find_units
from tests.bot.steps import join_coordinator
from tests.bot.world import OPERATOR, SHANGHAI, BotWorld
from tests.fakes.bot_api import record_errors
from tests.texts import said

COORDINATOR, LIAISON, RATER, VIEWER, STRANGER = 8001, 8002, 8003, 8004, 8999
UNITS = ("dianzi", "xiji", "sangcun")


def at(month: int, day: int) -> datetime:
    return datetime(2025, month, day, 10, 0, tzinfo=SHANGHAI)


def report(world: BotWorld, unit: str, month: int) -> None:
    """Submit the unit's report of `month` now."""
    [ref] = find_units(world.uow(), unit)
    tasks = [t for t in tasks_of_year(world.uow(), OPERATOR, 2025) if t.unit_code == unit]
    entries = [ReportEntryInput(t.id, "on_track") for t in tasks]
    submit_report(world.uow(), OPERATOR, ref.id, 2025, month, entries)


def seed_reports(world: BotWorld) -> None:
    """Three units with tasks; January: dianzi on time, xiji late, sangcun missing (closed);
    February: dianzi on time, the others overdue; now is 10 March."""
    world.clock.set(at(1, 1))
    import_tasks(
        world.uow(),
        OPERATOR,
        2025,
        [
            TaskInput(u, "T1", "招商引资", due_date=date(2025, 12, 31), work_item="key_work")
            for u in UNITS
        ],
    )
    world.clock.set(at(2, 3))
    report(world, "dianzi", 1)
    world.clock.set(at(2, 8))
    report(world, "xiji", 1)
    world.clock.set(at(3, 4))
    report(world, "dianzi", 2)
    world.clock.set(at(3, 10))
    close_month(world.uow(), OPERATOR, 2025, 1)


async def test_matrix_shows_the_last_month_due_by_default(world: BotWorld) -> None:
    errors = record_errors(world.app)
    seed_reports(world)
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/matrix")
    await world.step()
    text = next(t for t in world.texts(user) if "进展报送情况" in t)
    assert said("coord.matrix_header", year=2025, month=2, due="2025-03-05", units=3) in text
    assert "🟢 按时报送（1）：店子镇" in text
    assert "🔴 逾期未报（2）：西集镇、桑村镇" in text
    assert [c.params["action"] for c in world.server.calls("sendChatAction")] == ["upload_photo"]
    assert len(world.server.calls("sendPhoto")) == 1
    assert errors == []


async def test_matrix_of_a_closed_month_shows_late_and_missing(world: BotWorld) -> None:
    seed_reports(world)
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/matrix", "1")
    await world.step()
    text = next(t for t in world.texts(user) if "进展报送情况" in t)
    assert "按时报送（1）：店子镇" in text
    assert "迟报（1）：西集镇（2025-02-08）" in text
    assert "未报（已结月）（1）：桑村镇" in text


async def test_matrix_of_a_month_not_yet_due(world: BotWorld) -> None:
    seed_reports(world)
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/matrix", "2025-03")
    await world.step()
    text = next(t for t in world.texts(user) if "进展报送情况" in t)
    assert "未到截止日、尚未报送（3）" in text


async def test_the_picture_is_a_png_of_the_expected_size(world: BotWorld) -> None:
    seed_reports(world)
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/matrix")
    await world.step()
    [call] = world.server.calls("sendPhoto")
    png = call.files["photo"].data
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    assert image.size == matrix_size(3, 3)
    # The cell of dianzi (first row) in January is green, sangcun's (third) dark red.
    assert _colour_at(image, row=0, month=1) == _rgb(STATE_COLOURS["on_time"])
    assert _colour_at(image, row=2, month=1) == _rgb(STATE_COLOURS["missing"])
    assert _colour_at(image, row=1, month=2) == _rgb(STATE_COLOURS["overdue"])
    assert _colour_at(image, row=0, month=6) == _rgb(STATE_COLOURS["not_due_yet"])


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _colour_at(image: Image.Image, row: int, month: int) -> tuple[int, int, int]:
    """The colour at the middle of a matrix cell (layout of the matrix chart, 3 units)."""
    width = image.size[0]
    left = 100 * (0.3 + 0.15 * 3 if 0.3 + 0.15 * 3 > 1.2 else 1.2)
    right = width - 30
    top = 80
    cell_w = (right - left) / 12
    cell_h = 30  # 0.3 inch at 100 dpi
    x = left + cell_w * (month - 0.5)
    y = top + cell_h * (row + 0.5)
    pixel = image.convert("RGB").getpixel((round(x), round(y)))
    assert isinstance(pixel, tuple)
    return pixel[0], pixel[1], pixel[2]


async def test_without_tasks_no_unit_owes_a_report_and_no_picture_is_sent(
    world: BotWorld,
) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/matrix")
    await world.step()
    assert said("coord.matrix_no_units") in world.texts(user)[-1]
    assert world.server.calls("sendPhoto") == []


async def test_a_month_that_is_not_a_month_gets_the_usage(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    for arg in ("13", "abc", "2025-00"):
        user.send_command("/matrix", arg)
        await world.step()
        assert said("coord.matrix_usage") in world.texts(user)[-1]
    user.send_command("/matrix", "2024-05")
    await world.step()
    assert said("errors.no_plan", year=2024) in world.texts(user)[-1]


def test_months_are_read_in_the_forms_coordinators_type() -> None:
    assert parse_month("3", 2025) == (2025, 3)
    assert parse_month("2025-03", 2026) == (2025, 3)
    assert parse_month("2024/12", 2025) == (2024, 12)
    assert parse_month("2025年3月", 2025) == (2025, 3)
    assert parse_month("3月", 2025) == (2025, 3)
    assert parse_month("0", 2025) is None
    assert parse_month("March", 2025) is None


async def test_only_coordinators_see_the_matrix(world: BotWorld) -> None:
    liaison = await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    rater = await world.join(RATER, Role.RATER, None, "区财政局")
    viewer = await world.join(VIEWER, Role.VIEWER, None, "李主任")
    stranger = world.server.user(STRANGER)
    for user in (liaison, rater, viewer, stranger):
        user.send_command("/matrix")
    await world.step()
    for user in (liaison, rater, viewer):
        assert said("common.not_for_your_role") in world.texts(user)[-1]
    assert said("common.unknown_account") in world.texts(stranger)[-1]
    assert world.server.calls("sendPhoto") == []


# ---------------------------------------------------------------------------------------------
# The chart itself


NAMES = ("山城街道", "区人力资源和社会保障局", "山亭经济开发区管委会", "凫城镇")


def test_the_chart_font_is_a_cjk_font_shipped_with_a_package() -> None:
    path = cjk_font_path()
    assert path.name == "NotoSansCJKsc-Regular.otf"
    font = FT2Font(str(path))
    assert font.family_name == "Noto Sans CJK SC"
    for char in "".join(NAMES) + "年度月报报送情况按时迟报逾期未报未到期0123456789":
        assert font.get_char_index(ord(char)) != 0, char
    assert cjk_font().get_file() == str(path)
    with matplotlib.rc_context():  # leave the other tests' defaults alone
        assert configure_matplotlib() == "Noto Sans CJK SC"
        assert matplotlib.rcParams["font.family"] == ["Noto Sans CJK SC"]


def test_the_matrix_is_drawn_with_the_cjk_font_only_and_no_missing_glyph(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    used: list[str] = []
    real_get_font = backend_agg.get_font  # type: ignore[attr-defined]

    def spy(paths: object, *args: object, **kwargs: object) -> object:
        used.extend(str(p) for p in (paths if isinstance(paths, list) else [paths]))
        return real_get_font(paths, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(backend_agg, "get_font", spy)
    rows = [MatrixRow(name, ("on_time", "late", "missing", None) * 3) for name in NAMES]
    legend = {"on_time": "按时", "late": "迟报", "missing": "未报", "not_due_yet": "未到期"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chart = render_matrix(
            "2025 年度月报报送情况", rows, [f"{m}月" for m in range(1, 13)], legend, 3
        )
    assert [str(w.message) for w in caught] == []
    assert used and set(used) == {str(cjk_font_path())}
    assert chart.font_file == str(cjk_font_path())
    image = Image.open(io.BytesIO(chart.png))
    assert image.format == "PNG"
    assert image.size == (chart.width, chart.height) == matrix_size(len(NAMES), 11)


def test_a_long_list_of_units_makes_a_taller_picture() -> None:
    rows = [MatrixRow(f"单位{i}", ("on_time",) * 12) for i in range(60)]
    chart = render_matrix("标题", rows, [str(m) for m in range(1, 13)], {}, None)
    assert chart.height == matrix_size(60, 4)[1] > matrix_size(3, 4)[1]
    assert Image.open(io.BytesIO(chart.png)).size == (chart.width, chart.height)
