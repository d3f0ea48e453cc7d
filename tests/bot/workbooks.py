"""Workbooks a coordinator sends the bot in the tests, built in memory as xlsx bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

import xlsxwriter

# The MIME type Telegram reports for an .xlsx document.
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The sample district's towns and the default plan's indicators, in the values sheet's order.
TOWNS = (
    "shancheng", "dianzi", "xiji", "sangcun", "beizhuang",
    "chengtou", "xuzhuang", "shuiquan", "fengmao", "fucheng",
)  # fmt: skip

INDICATORS = (
    "gdp_growth", "general_budget_revenue", "industrial_value_added", "fixed_asset_investment",
    "high_tech_share", "rd_intensity", "new_high_tech_firms", "foreign_trade_growth",
    "foreign_capital", "energy_intensity", "pm25", "good_air_days",
)  # fmt: skip


def workbook(
    sheet: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    title: str | None = None,
    extra: dict[str, tuple[Sequence[str], Sequence[Sequence[object]]]] | None = None,
) -> bytes:
    """An xlsx workbook with one data sheet (and, if given, an instructions sheet whose first
    cell is `title`, and further data sheets)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheets = {sheet: (header, rows), **(extra or {})}
    for name, (head, body) in sheets.items():
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, list(head))
        for r, row in enumerate(body, start=1):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(r, c, value)
    if title is not None:
        book.add_worksheet("说明").write_string(0, 0, title)
    book.close()
    return buffer.getvalue()


def values_rows(base: float = 5.0) -> list[list[object]]:
    """Every town with a figure for every indicator; dianzi's gdp_growth is `base + 2.25`."""
    rows: list[list[object]] = []
    for i, town in enumerate(TOWNS):
        rows.append([town, *[base + i + j / 10 for j in range(len(INDICATORS))]])
    rows[1][1] = base + 2.25
    return rows


def values_workbook(
    rows: Sequence[Sequence[object]] | None = None,
    *,
    title: str | None = None,
    extra: dict[str, tuple[Sequence[str], Sequence[Sequence[object]]]] | None = None,
) -> bytes:
    """A values workbook (towns x the plan's indicators)."""
    body = values_rows() if rows is None else rows
    return workbook("values", ["unit", *INDICATORS], body, title=title, extra=extra)
