"""Builders of data workbooks for the reader and template tests."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import xlsxwriter

from scoring import Group, Plan, Unit, parse_plan
from services.files.plan_file import default_plan_text, load_plan_text
from tests.factories import plan_data

Rows = Sequence[Any]  # rows of cells; loosely typed so that tests can mix headers and data

TOWNS = (Unit("dianzi", "店子镇", Group.TOWN), Unit("xiji", "西集镇", Group.TOWN))
OTHERS = (
    Unit("devzone", "山亭经济开发区管委会", Group.ZONE_OR_DEPARTMENT),
    Unit("finance", "区财政局", Group.ZONE_OR_DEPARTMENT),
)
UNITS: tuple[Unit, ...] = (*TOWNS, *OTHERS)


def default_plan() -> Plan:
    """The default plan of 2025 (12 indicators, key_work and basic_work)."""
    return load_plan_text(default_plan_text(2025))


def write_workbook(path: Path, sheets: Mapping[str, Rows]) -> Path:
    """Write `{sheet name: rows}` with openpyxl; None leaves a cell empty."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


def write_sheet(path: Path, sheet: str, rows: Rows) -> Path:
    """A workbook with one sheet."""
    return write_workbook(path, {sheet: rows})


def units_rows(units: Sequence[Unit] = UNITS) -> list[list[Any]]:
    """A units sheet: header and one row per unit."""
    return [["code", "name", "group"], *([u.code, u.name, u.group.value] for u in units)]


def plan_with_indicators(count: int) -> Plan:
    """The default plan with `count` indicators of equal points in one category."""
    points = 600 / count
    indicators = [
        {"code": f"ind{j}", "name": f"指标{j}", "unit": "%", "points": points}
        for j in range(count)
    ]
    category = {"code": "all", "name": "全部", "indicators": indicators}
    data = plan_data()
    data["development"]["categories"] = [category]
    return parse_plan(data)


def big_values_workbook(path: Path, plan: Plan, units: Sequence[Unit], seed: int = 1) -> Path:
    """A large values workbook, written in constant memory: one row per unit, 2 % blanks."""
    rnd = random.Random(seed)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("values")
    codes = [ind.code for ind in plan.development.indicators]
    sheet.write_row(0, 0, ["unit", *codes])
    for i, unit in enumerate(units, start=1):
        sheet.write_string(i, 0, unit.code)
        for j in range(len(codes)):
            if rnd.random() >= 0.02:
                sheet.write_number(i, j + 1, rnd.uniform(-10.0, 100.0))
    book.close()
    return path
