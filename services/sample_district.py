"""The bundled sample district: Shanting District's real units, clearly synthetic figures.

Names are those of 山亭区 (its nine towns and one street office, the development zone and a
dozen district departments). Every figure is made up by a seeded random generator, so that the
sample is the same on every machine and obviously not official data.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xlsxwriter

from scoring import Group, Plan, Unit
from scoring.plan import QUARTERS, YEAR_END, EventKind, Grade
from services.files.plan_file import default_plan_text, load_plan_text

SAMPLE_YEAR = 2025

TOWNS: tuple[tuple[str, str], ...] = (
    ("shancheng", "山城街道"),
    ("dianzi", "店子镇"),
    ("xiji", "西集镇"),
    ("sangcun", "桑村镇"),
    ("beizhuang", "北庄镇"),
    ("chengtou", "城头镇"),
    ("xuzhuang", "徐庄镇"),
    ("shuiquan", "水泉镇"),
    ("fengmao", "冯卯镇"),
    ("fucheng", "凫城镇"),
)

ZONE_AND_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("devzone", "山亭经济开发区管委会"),
    ("finance", "区财政局"),
    ("hrss", "区人力资源和社会保障局"),
    ("statistics", "区统计局"),
    ("industry", "区工业和信息化局"),
    ("science", "区科学技术局"),
    ("commerce", "区商务局"),
    ("natural_resources", "区自然资源局"),
    ("housing", "区住房和城乡建设局"),
    ("agriculture", "区农业农村局"),
    ("culture_tourism", "区文化和旅游局"),
    ("market_regulation", "区市场监督管理局"),
    ("approval_services", "区行政审批服务局"),
)

# The assessment panel (考核小组): DRB with member units; six raters, so trimming shows.
RATERS: tuple[str, ...] = (
    "区发展和改革局",
    "区财政局",
    "区人社局",
    "区统计局",
    "区委组织部",
    "区督查室",
)

# Plausible ranges of the default plan's indicators (low, high), for synthetic figures only.
_RANGES: dict[str, tuple[float, float]] = {
    "gdp_growth": (-1.5, 9.0),
    "general_budget_revenue": (-4.0, 12.0),
    "industrial_value_added": (0.0, 11.0),
    "fixed_asset_investment": (-6.0, 15.0),
    "high_tech_share": (8.0, 38.0),
    "rd_intensity": (0.4, 2.6),
    "new_high_tech_firms": (0.0, 9.0),
    "foreign_trade_growth": (-10.0, 25.0),
    "foreign_capital": (0.0, 1800.0),
    "energy_intensity": (0.35, 0.95),
    "pm25": (38.0, 58.0),
    "good_air_days": (62.0, 82.0),
}
_WHOLE_NUMBERS = {"new_high_tech_firms"}


@dataclass(frozen=True)
class SampleFiles:
    """Where the sample district's files were written."""

    plan: Path
    units: Path
    values: Path
    grades: Path
    bonus: Path
    events: Path


def sample_plan() -> Plan:
    """The default plan of the sample year."""
    return load_plan_text(default_plan_text(SAMPLE_YEAR))


def sample_units() -> list[Unit]:
    """The sample district's towns, zone and departments."""
    return [Unit(code, name, Group.TOWN) for code, name in TOWNS] + [
        Unit(code, name, Group.ZONE_OR_DEPARTMENT) for code, name in ZONE_AND_DEPARTMENTS
    ]


def sample_values(plan: Plan) -> list[list[object]]:
    """Rows of `[town code, value per indicator…]`; one value is left out, as happens."""
    rng = np.random.default_rng(SAMPLE_YEAR)
    rows: list[list[object]] = []
    for t, (code, _name) in enumerate(TOWNS):
        row: list[object] = [code]
        for ind in plan.development.indicators:
            low, high = _RANGES.get(ind.code, (0.0, 100.0))
            value = float(rng.uniform(low, high))
            value = float(round(value)) if ind.code in _WHOLE_NUMBERS else round(value, 2)
            # 水泉镇 did not report foreign capital: shows the `missing` rule in the sample.
            row.append(None if (t == 7 and ind.code == "foreign_capital") else value)
        rows.append(row)
    return rows


def sample_grades(plan: Plan) -> list[list[object]]:
    """Rows of `[unit, item, period, rater, grade]`: three raters a quarter, six at year end."""
    rng = np.random.default_rng(SAMPLE_YEAR + 1)
    grades = list(Grade)
    rows: list[list[object]] = []
    for unit in sample_units():
        strength = rng.uniform(0.0, 1.6)  # a unit's typical grade index, 0 = 好
        for item in plan.work.items:
            for period in (*QUARTERS, YEAR_END):
                raters = RATERS if period == YEAR_END else RATERS[:3]
                for rater in raters:
                    index = int(np.clip(round(strength + rng.normal(0, 0.6)), 0, 3))
                    rows.append([unit.code, item.code, period, rater, grades[index].value])
    return rows


def sample_bonus() -> list[list[object]]:
    """Rows of `[unit, title, evidence, approved]`; 店子镇 claims more than the cap allows."""
    rows: list[list[object]] = [
        ["dianzi", f"创新性典型经验做法（示例 {i}）", f"区发改〔{SAMPLE_YEAR}〕{i}号", "是"]
        for i in range(1, 8)
    ]
    rows += [
        ["xiji", "优势产业集群打造：新能源装备（示例）", "市级认定文件（示例）", "是"],
        ["shancheng", "重大政策争取：省级试点（示例）", "省发改委批复（示例）", "是"],
        ["sangcun", "重大政策创新（示例）", "待补充佐证", "否"],
        ["devzone", "重大政策争取：国家级园区（示例）", "批复文件（示例）", "是"],
        ["science", "创新性典型经验做法（示例）", "简报（示例）", "是"],
    ]
    return rows


def sample_events() -> list[list[object]]:
    """Rows of `[unit, event, count]`: late and missing reports, an overdue rectification."""
    return [
        ["beizhuang", EventKind.REPORT_LATE.value, 2],
        ["fengmao", EventKind.REPORT_MISSING.value, 1],
        ["fucheng", EventKind.RECTIFICATION_OVERDUE.value, 1],
        ["housing", EventKind.REPORT_LATE.value, 1],
    ]


def write_sample(folder: Path) -> SampleFiles:
    """Write the plan and the five data workbooks of the sample district into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = sample_plan()
    files = SampleFiles(
        plan=folder / f"plan-{SAMPLE_YEAR}.yaml",
        units=folder / "units.xlsx",
        values=folder / "values.xlsx",
        grades=folder / "grades.xlsx",
        bonus=folder / "bonus.xlsx",
        events=folder / "events.xlsx",
    )
    _write_text(files.plan, default_plan_text(SAMPLE_YEAR))
    units = [[u.code, u.name, u.group.value] for u in sample_units()]
    _write_table(files.units, "units", ["code", "name", "group"], units)
    indicator_codes = [ind.code for ind in plan.development.indicators]
    _write_table(files.values, "values", ["unit", *indicator_codes], sample_values(plan))
    _write_table(
        files.grades, "grades", ["unit", "item", "period", "rater", "grade"], sample_grades(plan)
    )
    _write_table(files.bonus, "bonus", ["unit", "title", "evidence", "approved"], sample_bonus())
    _write_table(files.events, "events", ["unit", "event", "count"], sample_events())
    return files


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    Path(tmp).replace(path)


def _write_table(
    path: Path, sheet: str, headers: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".xlsx")
    os.close(fd)
    try:
        book = xlsxwriter.Workbook(tmp)
        ws = book.add_worksheet(sheet)
        bold = book.add_format({"bold": True})
        ws.write_row(0, 0, headers, bold)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(r, c, value)
        ws.freeze_panes(1, 0)
        ws.set_column(0, len(headers) - 1, 14)
        book.close()
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
