"""The report workbook (考核报告): rankings, indicator scores, work items and bonus, for print.

XlsxWriter (in `constant_memory` mode) writes every sheet's titles, headers, formats, merged
cells, charts and page setup. The data rows of the sheets that grow with the number of units
(rankings, indicator scores, work items, bonus items) are then streamed as sheet XML straight
into the package: XlsxWriter's per-cell API costs some 5 µs a cell, about 40 s for 40,000 towns
with 60 indicators, against a budget of 10 s. The file is written under a temporary name in the
target folder and renamed into place, so a failed write never leaves a partial report behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import queue
import re
import secrets
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from scoring.completeness import DEVELOPMENT, find_gaps
from scoring.plan import Direction, Group, Plan
from scoring.standings import Standings
from services.files.report_content import gap_lines, no_data_mark
from templates.catalog import normalise_language, render

# A bar chart of more units than this is unreadable; the chart shows the first ones by rank.
CHART_MAX_UNITS = 50
# Data rows turned into XML at a time: bounds memory (some 5 MB of text a chunk at 60
# indicators) and lets making and compressing overlap.
CHUNK_ROWS = 1000
# zlib level of the package: level 1 is three times faster than the default 6 on sheet XML
# and makes the file about an eighth larger.
ZIP_LEVEL = 1
# Fit a sheet to one printed page wide only while that keeps it legible (about 50 % scale
# on A4 landscape); wider sheets print across pages with their label columns repeated.
FIT_WIDTH_LIMIT = 260

A4 = 9
GREY = "#D9D9D9"
HEADER_FILL = "#F2F2F2"
# (cell fill, chart bar colour) of the tier bands by position: first, middle ones, last.
TIER_FIRST = ("#C6EFCE", "#63BE7B")
TIER_MIDDLE = (("#DDEBF7", "#5B9BD5"), ("#FFEB9C", "#FFC000"), ("#FCE4D6", "#F4B183"))
TIER_LAST = ("#FFC7CE", "#E06666")
FLAG_KEYS = ("no_grade", "no_year_end", "no_peer", "no_findings", "trimmed", "floored")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
# Excel's escapes in cell text: control characters as _xHHHH_, and a literal _xHHHH_ itself.
_LITERAL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f]")
_SHEET_DATA_END = re.compile(r"</sheetData>|<sheetData/>")
_NOT_A_NUMBER = re.compile(r's="\d+"><v>(?:nan|-?inf)</v></c>')
_DIMENSION = re.compile(r'<dimension ref="[^"]*"/>')


@dataclass(frozen=True)
class ReportSheet:
    """An extra sheet written after the standard ones: a header row, then plain rows.

    Cells may be text, numbers, booleans (written 是/否), dates or None (left empty). The name
    is made a valid, unique Excel sheet name (31 characters, no []:*?/\\) if it is not one.
    """

    name: str
    headers: list[str]
    rows: list[list[object]]
    widths: list[int] | None = None
    # Texts that make a cell stand out in red wherever they appear (an overdue status, say).
    alerts: tuple[str, ...] = ()


def write_report(
    standings: Standings,
    path: Path,
    language: str | None = None,
    extra_sheets: Sequence[ReportSheet] = (),
) -> None:
    """Write the report workbook of `standings` to `path` atomically (all or nothing)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # XlsxWriter's row files and the package before the data rows go in here, so that
    # nothing of them outlives a failure.
    with tempfile.TemporaryDirectory(prefix="kaohe-report-") as scratch:
        skeleton = Path(scratch) / "skeleton.xlsx"
        workbook = xlsxwriter.Workbook(
            str(skeleton),
            {
                "constant_memory": True,
                "tmpdir": scratch,
                # Unit names, titles and evidence are user text: never formulas or links.
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        try:
            report = _Report(workbook, standings, normalise_language(language))
            report.write(extra_sheets)
            workbook.close()
            _add_rows(skeleton, tmp, report.rows)
            tmp.replace(path)
        except BaseException:
            _abandon(workbook)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise


def _abandon(workbook: Workbook) -> None:
    """Close a workbook that failed, releasing the row files XlsxWriter keeps open."""
    if not workbook.fileclosed:
        with contextlib.suppress(Exception):
            workbook.close()
    # A close that failed (say, the folder is gone) leaves each sheet's row file open.
    for ws in workbook.worksheets():
        fh = getattr(ws, "row_data_fh", None)
        if fh is not None and not fh.closed:
            fh.close()


@dataclass(frozen=True)
class _Rows:
    """Data rows of one sheet, streamed as XML after the rows XlsxWriter wrote."""

    last_row: int
    last_col: int
    chunks: Callable[[], Iterator[str]]


def _add_rows(skeleton: Path, target: Path, rows: dict[str, _Rows]) -> None:
    """Copy the package at `skeleton` to `target`, with `rows` appended to their sheets."""
    with (
        zipfile.ZipFile(skeleton) as source,
        zipfile.ZipFile(
            target, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=ZIP_LEVEL
        ) as package,
    ):
        for info in source.infolist():
            data = source.read(info)
            extra = rows.get(info.filename)
            if extra is None:
                package.writestr(info.filename, data)
                continue
            xml = data.decode("utf-8")
            end = _SHEET_DATA_END.search(xml)
            if end is None:
                raise ValueError(f"no sheetData in {info.filename}")
            head = xml[: end.start()] + ("<sheetData>" if end.group() == "<sheetData/>" else "")
            head = _DIMENSION.sub(
                f'<dimension ref="A1:{xl_col_to_name(extra.last_col)}{extra.last_row + 1}"/>',
                head,
                count=1,
            )
            with package.open(info.filename, "w", force_zip64=True) as out:
                out.write(head.encode("utf-8"))
                for piece in _made_ahead(extra.chunks()):
                    out.write(piece)
                out.write(("</sheetData>" + xml[end.end() :]).encode("utf-8"))


def _made_ahead(chunks: Iterator[str], depth: int = 2) -> Iterator[bytes]:
    """The chunks, encoded, made in a second thread while the caller compresses the last ones.

    zlib lets go of the GIL while it compresses, so making and compressing overlap.
    """
    made: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, item: Any) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                made.put((kind, item), timeout=0.1)
                return True
        return False

    def make() -> None:
        try:
            for chunk in chunks:
                if not put("data", chunk.encode("utf-8")):
                    return
            put("end", None)
        except BaseException as exc:  # handed to the caller's thread, raised there
            put("error", exc)

    thread = threading.Thread(target=make, name="report-rows", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = made.get()
            if kind == "error":
                raise item
            if kind == "end":
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _inline(text: str) -> str:
    """The tail of an inline-string cell holding `text`, escaped as Excel expects."""
    text = _LITERAL_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL_CHARS.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f't="inlineStr"><is><t{space}>{text}</t></is></c>'


def _xf(fmt: Format) -> int:
    """The style index of a format, for the rows written as XML.

    XlsxWriter registers a format's index the first time a cell uses it; this is that call.
    """
    return int(fmt._get_xf_index())


class _RowXml:
    """One row of cells as sheet XML, from a template built once per sheet.

    Cells are `(column, style, kind)`: kind "n" holds a number, "s" the tail of an inline
    string (see `_inline`), "x" a raw tail after the reference (style and all). Filling
    the template with `%` formats every float in C, which matters at millions of cells.
    """

    def __init__(self, cells: Sequence[tuple[int, int, str]], missing: int) -> None:
        parts = ['<row r="%s">']
        for col, style, kind in cells:
            ref = f'<c r="{xl_col_to_name(col)}%s"'
            if kind == "n":
                # 16 significant digits, as XlsxWriter writes numbers (and faster than repr).
                parts.append(f'{ref} s="{style}"><v>%.16g</v></c>')
            elif kind == "s":
                parts.append(f'{ref} s="{style}" %s')
            else:
                parts.append(f"{ref}%s")
        parts.append("</row>")
        self.template = "".join(parts)
        self.size = 2 * len(cells) + 1
        # NaN (no value) and infinities are no numbers to Excel: an empty grey cell instead.
        self.gap = f's="{missing}"/>'

    def __call__(self, r: int, contents: list[Any]) -> str:
        # The row number, as text once: it goes into every cell reference.
        args: list[Any] = [str(r)] * self.size
        args[2::2] = contents
        xml = self.template % tuple(args)
        if "nan</v>" in xml or "inf</v>" in xml:
            xml = _NOT_A_NUMBER.sub(self.gap, xml)
        return xml


def display_width(text: str) -> int:
    """How many character cells `text` takes, counting Chinese characters as two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def tier_colours(position: int, count: int) -> tuple[str, str]:
    """The (cell fill, bar colour) of the tier band at `position` among `count` bands."""
    if position == 0:
        return TIER_FIRST
    if position >= count - 1:
        return TIER_LAST
    if count == 3:
        return TIER_MIDDLE[1]
    return TIER_MIDDLE[min(position - 1, len(TIER_MIDDLE) - 1)]


def sheet_name(name: str, taken: Iterable[str]) -> str:
    """`name` made a valid Excel sheet name that is not among `taken` (case-insensitively)."""
    base = _BAD_SHEET_CHARS.sub("_", name).strip("'").strip() or "Sheet"
    used = {t.casefold() for t in taken}
    candidate = base[:31]
    n = 2
    while candidate.casefold() in used:
        suffix = f"({n})"
        candidate = base[: 31 - len(suffix)] + suffix
        n += 1
    return candidate


def _width(texts: Iterable[str], low: int, high: int) -> int:
    """A column width for `texts`: the widest of them plus a margin, within [low, high]."""
    widest = 0
    # Longest first: a text of n characters is at most 2n wide, so most need no measuring.
    for text in sorted(set(texts), key=len, reverse=True):
        if 2 * len(text) <= widest or widest + 2 >= high:
            break
        widest = max(widest, display_width(text))
    return max(low, min(high, widest + 2))


class _Formats:
    """Every cell format of the workbook, created once before any row is written."""

    def __init__(self, workbook: Workbook, plan: Plan) -> None:
        add = workbook.add_format
        cell = {"border": 1, "border_color": "#A6A6A6", "valign": "vcenter"}
        self.title = add({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
        self.header = add(
            {**cell, "bold": True, "align": "center", "text_wrap": True, "bg_color": HEADER_FILL}
        )
        self.label = add({**cell, "bold": True, "align": "right", "bg_color": HEADER_FILL})
        self.text = add(cell)
        self.wrap = add({**cell, "text_wrap": True})
        self.center = add({**cell, "align": "center"})
        self.value = add(cell)
        self.number = add({**cell, "num_format": "0.00"})
        self.header_number = add({**cell, "num_format": "0.00", "bg_color": HEADER_FILL})
        self.header_value = add({**cell, "bg_color": HEADER_FILL})
        self.header_center = add({**cell, "align": "center", "bg_color": HEADER_FILL})
        self.missing = add({**cell, "bg_color": GREY})
        # Conditional formats take fill and font only (the cell keeps its own border).
        self.alert = add({"bg_color": "#FFC7CE", "font_color": "#9C0006", "bold": True})
        self.note = add({"italic": True, "font_color": "#595959", "valign": "vcenter"})
        self.datetime = add({**cell, "num_format": "yyyy-mm-dd hh:mm"})
        self.date = add({**cell, "num_format": "yyyy-mm-dd"})
        bands = plan.tiers.bands
        self.tier_position = {band.name: i for i, band in enumerate(bands)}
        self.bar_colour: list[str] = []
        self.tier: list[dict[str, Format]] = []
        for i in range(len(bands)):
            fill, bar = tier_colours(i, len(bands))
            self.bar_colour.append(bar)
            self.tier.append(
                {
                    "text": add({**cell, "bg_color": fill}),
                    "center": add({**cell, "bg_color": fill, "align": "center"}),
                    "integer": add(
                        {**cell, "bg_color": fill, "num_format": "0", "align": "center"}
                    ),
                    "number": add({**cell, "bg_color": fill, "num_format": "0.00"}),
                    "percent": add({**cell, "bg_color": fill, "num_format": "0.00%"}),
                }
            )

    def position(self, tier: str) -> int:
        """The band position of a tier name; an unknown name gets the last band."""
        return self.tier_position.get(tier, len(self.tier) - 1)


class _Report:
    """One report being written: the standings, the language and the shared formats."""

    def __init__(self, workbook: Workbook, standings: Standings, language: str) -> None:
        self.wb = workbook
        self.s = standings
        self.plan = standings.plan
        self.language = language
        self.f = _Formats(workbook, self.plan)
        units = standings.units
        self.codes = [u.code for u in units]
        self.names = [u.name for u in units]
        self.code_width = _width(self.codes, 10, 24)
        self.name_width = _width(self.names, 12, 40)
        self.is_town = np.array([u.group is Group.TOWN for u in units], dtype=bool)
        self.sheet_names: list[str] = []
        # Data rows to stream into the package, by the sheet's file name in it.
        self.rows: dict[str, _Rows] = {}
        # Unit codes and names as the tails of inline-string cells, escaped once.
        self.code_xml = [_inline(code) for code in self.codes]
        self.name_xml = [_inline(name) for name in self.names]
        self.gaps = find_gaps(standings)

    def t(self, key: str, **params: Any) -> str:
        return render(f"report.{key}", self.language, **params)

    def title(self, part: str) -> str:
        return self.t("title", plan_title=self.plan.title, year=self.plan.year, part=part)

    def ordered(self, group: Group) -> np.ndarray:
        """Rows of one group in rank order (ties in input order), as `Standings.group` has."""
        mask = self.is_town if group is Group.TOWN else ~self.is_town
        rows = np.flatnonzero(mask)
        return rows[np.lexsort((rows, self.s.ranks[rows]))]

    def add_sheet(self, name: str) -> Worksheet:
        name = sheet_name(name, self.sheet_names)
        self.sheet_names.append(name)
        return self.wb.add_worksheet(name)

    def stream_rows(
        self, first_row: int, count: int, last_col: int, chunks: Callable[[], Iterator[str]]
    ) -> None:
        """Have `count` data rows from `first_row` on streamed into the sheet added last."""
        if count:
            # XlsxWriter names sheet files by their position, from 1.
            member = f"xl/worksheets/sheet{len(self.sheet_names)}.xml"
            self.rows[member] = _Rows(first_row + count - 1, last_col, chunks)

    def page_setup(
        self, ws: Worksheet, repeat: tuple[int, int], fixed_cols: int, width: float
    ) -> None:
        ws.set_landscape()
        ws.set_paper(A4)
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
        ws.repeat_rows(*repeat)
        ws.set_footer(self.t("page_footer"))
        ws.center_horizontally()
        if width <= FIT_WIDTH_LIMIT:
            ws.fit_to_pages(1, 0)
        elif fixed_cols:
            ws.repeat_columns(0, fixed_cols - 1)

    def write(self, extra_sheets: Sequence[ReportSheet]) -> None:
        self.wb.set_properties({"title": self.title(self.t("part_report"))})
        # A block, town or indicator without any data: the rankings are no result yet, and the
        # workbook opens on what is missing. (Single missing figures and grades are marked
        # where they are, on the indicator and work sheets.)
        if self.gaps.severe:
            self.write_gaps()
        for group in Group:
            self.write_ranking(group)
        self.write_indicators()
        self.write_work()
        self.write_bonus()
        for sheet in extra_sheets:
            self.write_extra(sheet)

    # 数据缺失 -----------------------------------------------------------------------------

    def write_gaps(self) -> None:
        """What the data lacks, one line a row, before any ranking."""
        ws = self.add_sheet(render("year.gaps_sheet", self.language))
        ws.set_column(0, 0, 110)
        lines = gap_lines(self.gaps, self.language)
        ws.set_row(0, 30)
        ws.write_string(0, 0, lines[0], self.f.title)
        for r, line in enumerate(lines[1:], start=1):
            ws.write_string(r, 0, line, self.f.note)
        ws.activate()

    def gaps_note(self) -> str:
        """What a ranking's title adds when the data is incomplete."""
        if not self.gaps.severe:
            return ""
        return render(
            "year.gaps_see_sheet", self.language, sheet=render("year.gaps_sheet", self.language)
        )

    # 镇街排名 / 部门排名 ---------------------------------------------------------------------

    def write_ranking(self, group: Group) -> None:
        """Rank, unit, tier, block points, bonus, deductions, total and share, in tier colours,
        with a bar chart of the totals beside the table."""
        s, f, plan = self.s, self.f, self.plan
        town = group is Group.TOWN
        group_name = self.t(f"group_{group.value}")
        ws = self.add_sheet(self.t(f"sheet_ranking_{group.value}"))
        items = plan.work.items
        headers = [self.t("col_rank"), self.t("col_code"), self.t("col_unit"), self.t("col_tier")]
        widths = [6, self.code_width, self.name_width, 8]
        if town:
            headers.append(
                self.t("col_development") + no_data_mark(self.gaps, DEVELOPMENT, self.language)
            )
            widths.append(10)
        headers += [
            item.name + no_data_mark(self.gaps, item.code, self.language) for item in items
        ]
        widths += [max(10, display_width(item.name) + 2) for item in items]
        headers += [
            self.t("col_bonus"),
            self.t("col_deductions"),
            self.t("col_total"),
            self.t("col_share"),
        ]
        widths += [8, 8, 10, 9]
        last = len(headers) - 1
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)

        ws.set_row(0, 30)
        ws.merge_range(
            0,
            0,
            0,
            last,
            self.title(self.t("part_ranking", group=group_name)) + self.gaps_note(),
            f.title,
        )
        ws.set_row(1, 32)
        ws.write_row(1, 0, headers, f.header)

        rows = self.ordered(group)
        positions = [f.position(s.tiers[r]) for r in rows.tolist()]
        numbers = [s.work.points[rows]]
        if town:
            numbers.insert(0, s.development[rows][:, None])
        numbers += [
            s.bonus_points[rows][:, None],
            s.work.deducted.sum(axis=1)[rows][:, None],
            s.totals[rows][:, None],
        ]
        shares = s.totals[rows] / plan.max_without_bonus(group)
        missing = _xf(f.missing)
        templates = []
        for band in f.tier:
            st = {kind: _xf(fmt) for kind, fmt in band.items()}
            cells = [(0, st["integer"], "n"), (1, st["text"], "s"), (2, st["text"], "s")]
            cells += [(3, st["center"], "s")]
            cells += [(c, st["number"], "n") for c in range(4, last)]
            cells.append((last, st["percent"], "n"))
            templates.append(_RowXml(cells, missing))
        tier_xml = {name: _inline(name) for name in set(s.tiers)}

        def chunks() -> Iterator[str]:
            for start in range(0, len(rows), CHUNK_ROWS):
                part = rows[start : start + CHUNK_ROWS]
                number_rows = np.hstack([a[start : start + CHUNK_ROWS] for a in numbers]).tolist()
                share_part = shares[start : start + CHUNK_ROWS].tolist()
                ranks = s.ranks[part].tolist()
                out: list[str] = []
                for i, row in enumerate(part.tolist()):
                    head = [
                        ranks[i],
                        self.code_xml[row],
                        self.name_xml[row],
                        tier_xml[s.tiers[row]],
                    ]
                    out.append(
                        templates[positions[start + i]](
                            start + i + 3, [*head, *number_rows[i], share_part[i]]
                        )
                    )
                yield "".join(out)

        self.stream_rows(2, len(rows), last, chunks)
        ws.freeze_panes(2, 3)
        self.page_setup(ws, (1, 1), 3, sum(widths))
        if len(rows):
            self.ranking_chart(ws, group_name, rows.tolist(), positions, last - 1, last + 2)

    def ranking_chart(
        self,
        ws: Worksheet,
        group_name: str,
        rows: list[int],
        positions: list[int],
        total_col: int,
        at_col: int,
    ) -> None:
        """A bar chart of the totals, rank 1 on top, bars in tier colours, beside the table."""
        count = len(positions)
        shown = min(count, CHART_MAX_UNITS)
        chart = self.wb.add_chart({"type": "bar"})
        if chart is None:  # only for an unknown chart type
            return
        sheet = ws.get_name()
        chart.add_series(
            {
                "name": self.t("col_total"),
                "categories": [sheet, 2, 2, 1 + shown, 2],
                "values": [sheet, 2, total_col, 1 + shown, total_col],
                # The cells' values as the chart's cache: constant_memory keeps none to read,
                # and without it viewers that do not recalculate show no names or bars.
                "categories_data": [self.names[row] for row in rows[:shown]],
                "values_data": [float(self.s.totals[row]) for row in rows[:shown]],
                "points": [{"fill": {"color": self.f.bar_colour[p]}} for p in positions[:shown]],
                "data_labels": {"value": True, "num_format": "0.00"},
                "gap": 60,
            }
        )
        chart.set_title(
            {
                "name": self.t("chart_title", group=group_name, shown=shown, count=count),
                "name_font": {"size": 12, "bold": True},
            }
        )
        chart.set_legend({"none": True})
        # For bar charts XlsxWriter's y axis is the vertical category axis.
        chart.set_y_axis({"reverse": True, "crossing": "max", "num_font": {"size": 9}})
        chart.set_x_axis({"num_format": "0", "major_gridlines": {"visible": True}})
        chart.set_size({"width": 520, "height": max(320, 80 + 22 * shown)})
        ws.insert_chart(1, at_col, chart, {"object_position": 3})

    # 指标得分 --------------------------------------------------------------------------------

    def write_indicators(self) -> None:
        """Towns x indicators: value and points per indicator, under a header block with each
        indicator's direction, weight, best and worst value; rows in rank order."""
        s, f, plan = self.s, self.f, self.plan
        e = s.efficacy
        indicators = plan.development.indicators
        k = len(indicators)
        ws = self.add_sheet(self.t("sheet_indicators"))
        first = 3  # code, unit, development total, then (value, points) per indicator
        last = first + 2 * k - 1 if k else first - 1
        widths = [self.code_width, self.name_width, 10] + [9] * (2 * k)
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)

        ws.set_row(0, 30)
        ws.merge_range(0, 0, 0, last, self.title(self.t("part_indicators")), f.title)
        ws.set_row(1, 20)
        note = self.t("missing_note", policy=plan.development.missing_value.value)
        ws.merge_range(1, 0, 1, last, note, f.note)

        # The header block: one row per attribute, each indicator's cell merged over its pair.
        best = [None if math.isnan(v) else v for v in e.best.tolist()]
        worst = [None if math.isnan(v) else v for v in e.worst.tolist()]
        directions = [
            self.t("direction_higher" if ind.direction is Direction.HIGHER else "direction_lower")
            for ind in indicators
        ]
        names = [self.t("indicator_header", name=ind.name, measure=ind.unit) for ind in indicators]
        block: list[tuple[str, list[Any], Format, float | None]] = [
            ("row_indicator", names, f.header, 36),
            ("row_direction", directions, f.header_center, None),
            ("row_weight", [ind.points for ind in indicators], f.header_number, None),
            ("row_best", best, f.header_value, None),
            ("row_worst", worst, f.header_value, None),
        ]
        for r, (key, cells, fmt, height) in enumerate(block, start=2):
            if height:
                ws.set_row(r, height)
            ws.merge_range(r, 0, r, first - 1, self.t(key), f.label)
            for j, value in enumerate(cells):
                c = first + 2 * j
                if value is None:
                    ws.merge_range(r, c, r, c + 1, "", f.missing)
                else:
                    ws.merge_range(r, c, r, c + 1, value, fmt)
        header_row = 2 + len(block)
        pair = [self.t("col_value"), self.t("col_points")]
        ws.write_row(
            header_row,
            0,
            [self.t("col_code"), self.t("col_unit"), self.t("col_development"), *pair * k],
            f.header,
        )

        # Towns in rank order, as indices into the efficacy arrays (which are in town order).
        t_of_row = np.full(len(s.units), -1, dtype=int)
        t_of_row[s.town_rows] = np.arange(len(s.town_rows))
        rows = self.ordered(Group.TOWN)
        towns = t_of_row[rows]
        text, number, value = _xf(f.text), _xf(f.number), _xf(f.value)
        cells = [(0, text, "s"), (1, text, "s"), (2, number, "n")]
        for j in range(k):
            cells += [(first + 2 * j, value, "n"), (first + 2 * j + 1, number, "n")]
        template = _RowXml(cells, _xf(f.missing))
        top = header_row + 2  # the first data row, counted from 1 as in the XML

        def chunks() -> Iterator[str]:
            for start in range(0, len(rows), CHUNK_ROWS):
                part = rows[start : start + CHUNK_ROWS].tolist()
                ts = towns[start : start + CHUNK_ROWS]
                pairs = np.empty((len(ts), 2 * k))
                pairs[:, 0::2] = e.values[ts]
                pairs[:, 1::2] = e.points[ts]
                development = s.development[part].tolist()
                out = [
                    template(
                        top + start + i,
                        [self.code_xml[row], self.name_xml[row], development[i], *pair_row],
                    )
                    for i, (row, pair_row) in enumerate(zip(part, pairs.tolist(), strict=True))
                ]
                yield "".join(out)

        self.stream_rows(header_row + 1, len(rows), last, chunks)
        ws.freeze_panes(header_row + 1, first)
        self.page_setup(ws, (2, header_row), first, sum(widths))

    # 工作情况 --------------------------------------------------------------------------------

    def write_work(self) -> None:
        """Per unit and work item: coefficients, points before and after deductions, flags."""
        s, f, plan = self.s, self.f, self.plan
        w = s.work
        items = plan.work.items
        ws = self.add_sheet(self.t("sheet_work"))
        headers = [
            self.t("col_code"),
            self.t("col_unit"),
            self.t("col_group"),
            self.t("col_item"),
            self.t("col_daily"),
            self.t("col_year_end"),
            self.t("col_coef"),
            self.t("col_raw"),
            self.t("col_deducted"),
            self.t("col_points"),
            self.t("col_flags"),
        ]
        flag_words = [self.t(f"flag_{key}") for key in FLAG_KEYS]
        separator = self.t("flag_separator")
        # Every combination of flags, rendered once and looked up by bit mask.
        flag_texts = [
            separator.join(word for bit, word in enumerate(flag_words) if mask >> bit & 1)
            for mask in range(1 << len(FLAG_KEYS))
        ]
        group_names = {g: self.t(f"group_{g.value}") for g in Group}
        widths = [
            self.code_width,
            self.name_width,
            _width(group_names.values(), 6, 20),
            _width((item.name for item in items), 10, 24),
            9,
            9,
            9,
            10,
            8,
            8,
            _width(flag_texts, 10, 40),
        ]
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)
        ws.set_row(0, 30)
        ws.merge_range(0, 0, 0, len(headers) - 1, self.title(self.t("part_work")), f.title)
        ws.set_row(1, 32)
        ws.write_row(1, 0, headers, f.header)

        no_grade = np.isnan(w.coef)
        no_year_end = ~no_grade & np.isnan(w.year_end)
        floored = (w.deducted > 0) & (w.raw < w.deducted)
        masks = (
            no_grade.astype(int)
            | no_year_end.astype(int) << 1
            | w.sources.no_peer.astype(int) << 2
            | w.sources.no_findings.astype(int) << 3
            | w.trimmed.astype(int) << 4
            | floored.astype(int) << 5
        )
        text, center, number = _xf(f.text), _xf(f.center), _xf(f.number)
        cells = [(0, text, "s"), (1, text, "s"), (2, center, "s"), (3, text, "s")]
        cells += [(c, number, "n") for c in range(4, 10)]
        cells.append((10, 0, "x"))
        template = _RowXml(cells, _xf(f.missing))
        flag_cells = [
            f' s="{text}" {_inline(flag)}' if flag else f' s="{text}"/>' for flag in flag_texts
        ]
        group_cells = {g: _inline(name) for g, name in group_names.items()}
        item_cells = [_inline(item.name) for item in items]
        ordered = [(g, row) for g in Group for row in self.ordered(g).tolist()]
        columns = (w.daily, w.year_end, w.coef, w.raw, w.deducted, w.points)

        def chunks() -> Iterator[str]:
            r = 3
            for start in range(0, len(ordered), CHUNK_ROWS):
                part = ordered[start : start + CHUNK_ROWS]
                rows = [row for _, row in part]
                numbers = np.stack([a[rows] for a in columns], axis=2).tolist()
                flags = masks[rows].tolist()
                out: list[str] = []
                for i, (group, row) in enumerate(part):
                    unit = [self.code_xml[row], self.name_xml[row], group_cells[group]]
                    for j, item in enumerate(item_cells):
                        out.append(
                            template(r, [*unit, item, *numbers[i][j], flag_cells[flags[i][j]]])
                        )
                        r += 1
                yield "".join(out)

        self.stream_rows(2, len(ordered) * len(items), len(headers) - 1, chunks)
        ws.freeze_panes(2, 2)
        self.page_setup(ws, (1, 1), 2, sum(widths))

    # 加分项 ----------------------------------------------------------------------------------

    def write_bonus(self) -> None:
        """Every bonus item claimed, by unit in rank order: approved or not, points counted."""
        s, f, plan = self.s, self.f, self.plan
        ws = self.add_sheet(self.t("sheet_bonus"))
        headers = [
            self.t("col_code"),
            self.t("col_unit"),
            self.t("col_bonus_title"),
            self.t("col_evidence"),
            self.t("col_approved"),
            self.t("col_counted"),
            self.t("col_note"),
        ]
        items = s.bonus_items
        capped_note = self.t("capped_note", cap=plan.bonus.cap)
        capped_partly = self.t("capped_partly", cap=plan.bonus.cap)
        widths = [
            self.code_width,
            self.name_width,
            _width((b.title for b in items), 20, 50),
            _width((b.evidence for b in items), 12, 40),
            8,
            9,
            _width([capped_note, capped_partly], 10, 40),
        ]
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)
        ws.set_row(0, 30)
        ws.merge_range(0, 0, 0, len(headers) - 1, self.title(self.t("part_bonus")), f.title)
        ws.set_row(1, 32)
        ws.write_row(1, 0, headers, f.header)

        by_unit: dict[str, list[int]] = {}
        for i, b in enumerate(items):
            by_unit.setdefault(b.unit, []).append(i)
        per_item = plan.bonus.points_per_item
        listed: list[tuple[int, int, float]] = []  # (unit row, bonus item, points counted)
        for group in Group:
            for row in self.ordered(group).tolist():
                room = plan.bonus.cap
                for i in by_unit.get(self.codes[row], ()):
                    # Approved items count in the order given until the yearly cap is used up.
                    counted = min(per_item, max(0.0, room)) if items[i].approved else 0.0
                    room -= counted
                    listed.append((row, i, counted))

        text, center, number = _xf(f.text), _xf(f.center), _xf(f.number)
        cells = [(c, text, "s") for c in range(4)]
        cells += [(4, center, "s"), (5, number, "n"), (6, 0, "x")]
        template = _RowXml(cells, _xf(f.missing))
        answers = {True: _inline(self.t("answer_yes")), False: _inline(self.t("answer_no"))}
        notes = {
            "": f' s="{text}"/>',
            "none": f' s="{text}" {_inline(capped_note)}',
            "partly": f' s="{text}" {_inline(capped_partly)}',
        }

        def chunks() -> Iterator[str]:
            for start in range(0, len(listed), CHUNK_ROWS):
                out: list[str] = []
                for r, (row, i, counted) in enumerate(
                    listed[start : start + CHUNK_ROWS], start=start + 3
                ):
                    b = items[i]
                    note = ""
                    if b.approved and counted < per_item:
                        note = "partly" if counted > 0 else "none"
                    contents: list[Any] = [self.code_xml[row], self.name_xml[row]]
                    contents += [_inline(b.title), _inline(b.evidence), answers[b.approved]]
                    contents += [counted, notes[note]]
                    out.append(template(r, contents))
                yield "".join(out)

        self.stream_rows(2, len(listed), len(headers) - 1, chunks)
        ws.freeze_panes(2, 2)
        self.page_setup(ws, (1, 1), 2, sum(widths))

    # Extra sheets ----------------------------------------------------------------------------

    def write_extra(self, sheet: ReportSheet) -> None:
        """A caller's sheet: bold header row, frozen, then its rows cell by cell."""
        f = self.f
        ws = self.add_sheet(sheet.name)
        widths = sheet.widths or [max(8, display_width(h) + 4) for h in sheet.headers]
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)
        ws.set_row(0, 32)
        ws.write_row(0, 0, sheet.headers, f.header)
        yes, no = self.t("answer_yes"), self.t("answer_no")
        for r, cells in enumerate(sheet.rows, start=1):
            for c, value in enumerate(cells):
                if value is None:
                    continue
                if isinstance(value, bool):
                    ws.write_string(r, c, yes if value else no, f.center)
                elif isinstance(value, int):
                    ws.write_number(r, c, value, f.value)
                elif isinstance(value, float):
                    if math.isnan(value):
                        ws.write_blank(r, c, None, f.missing)
                    else:
                        ws.write_number(r, c, value, f.number)
                elif isinstance(value, dt.datetime):
                    ws.write_datetime(r, c, value, f.datetime)
                elif isinstance(value, dt.date):
                    ws.write_datetime(r, c, value, f.date)
                else:
                    ws.write_string(r, c, str(value), f.wrap)
        last_col = max(len(sheet.headers), *(len(row) for row in sheet.rows), 1) - 1
        for alert in sheet.alerts if sheet.rows else ():
            ws.conditional_format(
                1,
                0,
                len(sheet.rows),
                last_col,
                {"type": "text", "criteria": "containing", "value": alert, "format": f.alert},
            )
        ws.freeze_panes(1, 0)
        self.page_setup(ws, (0, 0), 0, sum(widths))
