"""Read the data workbooks (scoring.md section 5) into the engine's inputs, all or nothing.

Every reader checks the whole file and raises one `InputError` that carries every problem found,
each with the file, sheet, Excel row (1-based, the header is normally row 1) and column, so that
a coordinator can fix them all in one pass. Nothing is returned from a file with any problem.

Decisions worth knowing:

- Cells are read with python-calamine, which gives floats for numbers and str for text. A number
  typed as text ("7.5", " 7.5 ", "1,234.5", full-width "７.５") is accepted; a trailing percent
  sign is dropped ("7.5%" is 7.5, in the indicator's own unit). Other text ("N/A", "—", "无") is
  an error; an empty cell is a missing value.
- A number cell formatted as a percentage holds the fraction (7.5 % is stored as 0.075) and is
  read as such; templates therefore use plain number cells.
- calamine reads a formula error (#DIV/0!, #N/A) as an empty cell, which would silently become
  a missing value; the xlsx sheet XML is scanned for error cells so that they are reported.
- A sheet is found by its canonical name or a Chinese alias, case-insensitively; other sheets
  (an instructions sheet 说明, the template's hidden `lists`) are ignored. The header is the
  first non-empty row. Headers match case-insensitively, with canonical and Chinese aliases.
- A missing required column stops the check of that file after the header (every header problem
  is still listed); unknown columns are errors in `values` only, ignored (notes) elsewhere.
  Row-number and remark columns (序号, 备注) are ignored everywhere. A unit may be named by code
  or name; a `单位名称` column next to the unit column must name the same unit.
- Rows whose recognised cells are all empty are skipped. Units, values and grades need at least
  one data row; bonus and events may have none.
- In `values`, indicator columns that are absent are simply not in the result (the engine counts
  them as missing); at least one indicator column is required.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, NoReturn
from xml.etree import ElementTree

import numpy as np
import python_calamine
from markupsafe import Markup

from scoring import (
    BonusItem,
    EventCount,
    EventKind,
    Grade,
    GradeRecord,
    Group,
    IndicatorValues,
    InputError,
    InputProblem,
    Plan,
    Unit,
)
from scoring.groups import GROUP_WORDS, SHORT_NAMES
from scoring.inputs import COUNT_LIMIT, VALUE_LIMIT, RectificationCount
from scoring.plan import GRADE_LABELS, GROUP_LABELS, QUARTERS, YEAR_END, YearEndSource
from services.files.safety import read_guarded
from services.free_text import clean_text
from templates import has_message, render

Cell = Any  # what calamine gives: float, int, str, bool, date, datetime, time or timedelta

# ---------------------------------------------------------------------------------------------
# Vocabulary: the words accepted in cells and headers (data, not prose).

KINDS: tuple[str, ...] = ("units", "values", "grades", "bonus", "events")

SHEET_NAMES: dict[str, tuple[str, ...]] = {
    "units": ("units", "单位", "单位名单"),
    "values": ("values", "指标值", "指标"),
    "grades": ("grades", "等次", "评价"),
    "bonus": ("bonus", "加分项"),
    "events": ("events", "扣分事件", "事件"),
    "tasks": ("tasks", "任务", "目标任务", "任务清单", "目标任务清单"),
}

_UNIT_ALIASES = ("unit", "单位", "单位代码", "考核单位", "考核对象")
# A second unit column many tables carry next to the code; it must name the same unit.
_UNIT_NAME_ALIASES = ("unit_name", "单位名称")

COLUMN_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "units": {
        "code": ("code", "代码", "单位代码", "编码"),
        "name": ("name", "名称", "单位名称", "单位"),
        "group": ("group", "组别", "分组"),
    },
    "values": {"unit": _UNIT_ALIASES, "unit_name": _UNIT_NAME_ALIASES},
    "grades": {
        "unit": _UNIT_ALIASES,
        "unit_name": _UNIT_NAME_ALIASES,
        "item": ("item", "工作项", "项目", "工作项目"),
        "period": ("period", "期间", "时段", "考评期"),
        "rater": ("rater", "评价人", "评分人", "评价单位"),
        "grade": ("grade", "等次", "评价等次"),
        "source": ("source", "评价来源", "来源", "评价方式"),
    },
    "bonus": {
        "unit": _UNIT_ALIASES,
        "unit_name": _UNIT_NAME_ALIASES,
        "title": ("title", "标题", "名称", "加分事项"),
        "evidence": ("evidence", "佐证", "佐证材料"),
        "approved": ("approved", "认定", "是否认定"),
    },
    "events": {
        "unit": _UNIT_ALIASES,
        "unit_name": _UNIT_NAME_ALIASES,
        "event": ("event", "事件", "事件类型"),
        "count": ("count", "次数"),
    },
    "tasks": {
        "unit": _UNIT_ALIASES,
        "code": ("code", "任务编号", "编号", "任务代码", "代码", "序号"),
        "title": ("title", "任务名称", "任务内容", "目标任务", "任务", "名称", "标题"),
        "source_document": ("source_document", "来源文件", "任务来源", "依据文件", "来源", "出处"),
        "target": ("target", "目标", "目标值", "任务目标", "预期目标", "量化目标"),
        "due_date": ("due_date", "完成时限", "截止日期", "完成期限", "完成时间", "时限", "到期日"),
        "work_item": ("work_item", "工作项", "所属工作项", "工作项目", "考核工作项"),
    },
}

_OPTIONAL_COLUMNS = {
    ("bonus", "evidence"),
    ("grades", "source"),
    *((k, "unit_name") for k in KINDS),
}
# Columns of common tables that carry nothing to import (row numbers, remarks): never errors.
IGNORED_HEADERS = frozenset({"序号", "no.", "#", "备注", "说明", "note", "notes", "remarks"})


GRADE_WORDS: dict[str, Grade] = {
    **{grade.value: grade for grade in Grade},
    **{label: grade for grade, label in GRADE_LABELS.items()},
}

# Chinese labels of the periods and events, as offered in the templates' drop-down lists.
PERIOD_LABELS: dict[str, str] = {"Q1": "Q1", "Q2": "Q2", "Q3": "Q3", "Q4": "Q4", YEAR_END: "年度"}
EVENT_LABELS: dict[EventKind, str] = {
    EventKind.REPORT_LATE: "迟报",
    EventKind.REPORT_MISSING: "未报",
    EventKind.RECTIFICATION_OVERDUE: "整改逾期",
    EventKind.FALSE_REPORT: "虚报",
}

_CHINESE_DIGITS = "一二三四"
PERIOD_WORDS: dict[str, str] = {
    **{q.casefold(): q for q in QUARTERS},
    **{f"{n}季度": q for n, q in zip("1234", QUARTERS, strict=True)},
    **{f"{d}季度": q for d, q in zip(_CHINESE_DIGITS, QUARTERS, strict=True)},
    **{f"第{d}季度": q for d, q in zip(_CHINESE_DIGITS + "1234", QUARTERS * 2, strict=True)},
    **dict.fromkeys(("year", "annual", "年度", "全年", "年终", "年终考评"), YEAR_END),
}

EVENT_WORDS: dict[str, EventKind] = {
    **{kind.value: kind for kind in EventKind},
    **{label: kind for kind, label in EVENT_LABELS.items()},
    "逾期报送": EventKind.REPORT_LATE,
    "报送逾期": EventKind.REPORT_LATE,
    "漏报": EventKind.REPORT_MISSING,
    "未报送": EventKind.REPORT_MISSING,
    "逾期整改": EventKind.RECTIFICATION_OVERDUE,
    "整改超期": EventKind.RECTIFICATION_OVERDUE,
    "虚假报送": EventKind.FALSE_REPORT,
}

# The sources a grades row can come from (scoring.md §2b); an empty cell is the panel.
SOURCE_LABELS: dict[YearEndSource, str] = {
    YearEndSource.PANEL: "考核小组",
    YearEndSource.PEER: "互评",
}
SOURCE_WORDS: dict[str, YearEndSource] = {
    **{source.value: source for source in SOURCE_LABELS},
    **{label: source for source, label in SOURCE_LABELS.items()},
    "小组评价": YearEndSource.PANEL,
    "考核小组评价": YearEndSource.PANEL,
    "单位互评": YearEndSource.PEER,
    "互评单位": YearEndSource.PEER,
}

# Rows of the events sheet that count findings for the rectification evaluation (§2b).
FINDING_DUE = "finding_due"
FINDING_ON_TIME = "finding_rectified_on_time"
FINDING_LABELS: dict[str, str] = {FINDING_DUE: "到期问题", FINDING_ON_TIME: "按期整改"}
FINDING_WORDS: dict[str, str] = {
    **{key: key for key in FINDING_LABELS},
    **{label: key for key, label in FINDING_LABELS.items()},
    "到期问题数": FINDING_DUE,
    "按期整改数": FINDING_ON_TIME,
    "按期整改问题": FINDING_ON_TIME,
}

YES_WORDS = frozenset({"yes", "y", "true", "1", "是", "已认定", "认定"})
NO_WORDS = frozenset({"no", "n", "false", "0", "否", "未认定", "不认定"})

# Every problem code the readers report; each has a message `workbook.<code>` in every language.
PROBLEM_CODES: tuple[str, ...] = (
    "file_missing",
    "file_unreadable",
    "not_a_workbook",
    "workbook_encrypted",
    "workbook_empty",
    "sheet_missing",
    "sheet_ambiguous",
    "sheet_empty",
    "no_data_rows",
    "missing_column",
    "duplicate_column",
    "unknown_column",
    "column_without_header",
    "no_indicator_columns",
    "empty_cell",
    "formula_error",
    "unknown_unit",
    "unknown_item",
    "unknown_period",
    "unknown_grade",
    "unknown_group",
    "unknown_event",
    "bad_yes_no",
    "bad_count",
    "not_a_number",
    "duplicate_unit_code",
    "duplicate_unit_name",
    "duplicate_unit",
    "duplicate_grade",
    "duplicate_bonus",
    "duplicate_event",
    "value_for_non_town",
    "unit_name_mismatch",
    "unknown_source",
    "unknown_rater_unit",
    "peer_own_unit",
    "peer_other_group",
    "peer_item_not_rated",
    "peer_not_year_end",
    "peer_not_in_plan",
    "rectified_more_than_due",
    # services.files.safety: checked before parsing, or the reader's child process stopped
    "file_too_large",
    "zip_damaged",
    "zip_too_many_members",
    "zip_total_too_large",
    "zip_member_too_large",
    "zip_ratio_too_high",
    "zip_size_lies",
    "sheet_too_large",
    "strings_too_many",
    "reader_failed",
    "number_too_large",
    "count_too_large",
    "mixed_percent",
)
# Codes of scoring.engine's own input check, rendered by the same catalog.
ENGINE_CODES: tuple[str, ...] = (
    "duplicate_unit",
    "unknown_unit",
    "value_for_non_town",
    "unknown_indicator",
    "unknown_item",
    "unknown_period",
    "duplicate_grade",
    "negative_count",
    "unknown_source",
    "unknown_rater_unit",
    "peer_own_unit",
    "peer_other_group",
    "peer_item_not_rated",
    "peer_not_year_end",
    "peer_not_in_plan",
    "rectified_more_than_due",
    "value_out_of_range",
    "result_not_finite",
    "count_too_large",
)

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?")
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_COLUMN = re.compile(r"([A-Z]{1,3})(?: \((.*)\))?", re.DOTALL)
# Candidates above this many make "did you mean" suggestions too slow to be worth it.
_SUGGEST_LIMIT = 2000

# ---------------------------------------------------------------------------------------------
# Cell helpers


def norm(text: str) -> str:
    """A word as matched: NFKC (full-width to half-width), stripped, case-folded."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _is_empty(value: Cell) -> bool:
    return value is None or (type(value) is str and not value.strip())


def _text(value: Cell) -> str:
    """A cell as text: numbers without a spurious `.0`, dates in ISO form, text cleaned (the
    one rule of services.free_text) and stripped."""
    if type(value) is str:
        return clean_text(value).strip()
    if type(value) is float and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return "" if value is None else str(value)


def parse_number(value: Cell) -> float | None:
    """A number cell or numeric text as a float; None if it is not a finite number (text such
    as "1e309", "inf" or "nan" included); NaN for an empty cell."""
    kind = type(value)
    if kind is float or kind is int:
        return float(value) if math.isfinite(value) else None
    if kind is not str:
        return None  # bool, dates and times are not indicator values
    text = unicodedata.normalize("NFKC", value).strip().replace(" ", "")
    if not text:
        return math.nan
    text = text.removesuffix("%")
    number = None
    if _NUMBER.fullmatch(text.lower()):
        number = float(text)
    elif _GROUPED_NUMBER.fullmatch(text):
        number = float(text.replace(",", ""))
    return number if number is not None and math.isfinite(number) else None


def _whole_number(value: Cell) -> int | None:
    number = parse_number(value)
    if number is None or math.isnan(number) or number < 0 or not number.is_integer():
        return None
    return int(number)


def _yes_no(value: Cell) -> bool | None:
    if type(value) is bool:
        return value
    if type(value) is float and value in (0.0, 1.0):
        return value == 1.0
    word = norm(_text(value))
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    return None


def column_letter(index: int) -> str:
    """The Excel letters of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    n = index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _suggest(word: str, candidates: Sequence[str]) -> list[str]:
    if not word or len(candidates) > _SUGGEST_LIMIT:
        return []
    return difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)


# ---------------------------------------------------------------------------------------------
# Problems


@dataclass
class ProblemList:
    """The problems of one file, kept in file order (sheet, then row, then column)."""

    source: str
    sheet: str = ""
    found: list[tuple[int, int, int, InputProblem]] = field(default_factory=list)

    def add(
        self,
        code: str,
        row: int | None = None,
        col: int | None = None,
        header: str = "",
        /,
        **params: object,
    ) -> None:
        column = ""
        if col is not None:
            letter = column_letter(col)
            column = f"{letter} ({header})" if header else letter
        problem = InputProblem(code, params, self.source, self.sheet, row, column)
        self.found.append((row or 0, -1 if col is None else col, len(self.found), problem))

    def raise_if_any(self) -> None:
        if self.found:
            raise InputError([p for *_, p in sorted(self.found, key=lambda t: t[:3])])

    def stop(self, code: str, **params: object) -> NoReturn:
        """Add a problem that ends the read of this file, and raise."""
        self.add(code, **params)
        raise InputError([p for *_, p in sorted(self.found, key=lambda t: t[:3])])


# ---------------------------------------------------------------------------------------------
# Opening a workbook and finding its sheet, header and columns


@dataclass
class _Table:
    """The data sheet of a workbook: header row, headers and the raw rows below it."""

    sheet: str
    header_row: int  # Excel row number of the header
    headers: list[str]
    rows: list[list[Cell]]
    errors: dict[tuple[int, int], str]  # (Excel row, column index) -> "#DIV/0!"
    zipped: bool = False  # an xlsx (a zip), whose XML can be scanned for what calamine hides

    def excel_row(self, k: int) -> int:
        """The Excel row number of data row `k` (0-based)."""
        return self.header_row + 1 + k

    def header(self, col: int) -> str:
        """The header text of column `col`."""
        return self.headers[col] if col < len(self.headers) else ""


_ZIP_MAGIC = b"PK\x03\x04"
# A cell tag (maybe namespace-prefixed, as some writers do), its reference, and its value.
_CELL_START = re.compile(rb"<(?:[\w.-]+:)?c\s[^<>]*$")
_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_CELL_VALUE = re.compile(rb"<(?:[\w.-]+:)?v>([^<]*)</")
_CELL_END = re.compile(rb"</(?:[\w.-]+:)?c>")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def open_table(path: Path, kind: str, problems: ProblemList) -> _Table:
    """The kind's sheet of the workbook at `path`; raise for problems that stop the read."""
    file = problems.source
    try:
        with path.open("rb") as handle:
            magic = handle.read(8)
            if not (magic.startswith(_ZIP_MAGIC) or magic == _OLE_MAGIC):
                problems.stop("not_a_workbook", file=file, reason="signature")
            handle.seek(0)
            # From the content, not the name: a real .xlsx saved as .xls still reads.
            book = python_calamine.CalamineWorkbook.from_filelike(handle)
    except FileNotFoundError:
        problems.stop("file_missing", file=file)
    except python_calamine.PasswordError:
        problems.stop("workbook_encrypted", file=file)
    except python_calamine.CalamineError as exc:
        problems.stop("not_a_workbook", file=file, reason=str(exc))
    except OSError as exc:
        problems.stop("file_unreadable", file=file, reason=exc.strerror or str(exc))

    with book:
        names = list(book.sheet_names)
        wanted = {norm(n) for n in SHEET_NAMES[kind]}
        matches = [n for n in names if norm(n) in wanted]
        if not matches:
            if all(_sheet_is_empty(book, n) for n in names):
                problems.stop("workbook_empty", file=file)
            problems.stop("sheet_missing", expected=list(SHEET_NAMES[kind]), sheets=names)
        sheet_name = matches[0]
        problems.sheet = sheet_name
        if len(matches) > 1:
            problems.stop("sheet_ambiguous", sheets=matches, used=sheet_name)
        rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    header_index = next(
        (i for i, row in enumerate(rows) if not all(_is_empty(v) for v in row)), None
    )
    if header_index is None:
        problems.stop("sheet_empty", sheet=sheet_name)
    headers = [_text(v) for v in rows[header_index]]
    zipped = magic.startswith(_ZIP_MAGIC)
    errors = _error_cells(path, sheet_name) if zipped else {}
    return _Table(sheet_name, header_index + 1, headers, rows[header_index + 1 :], errors, zipped)


def _sheet_is_empty(book: python_calamine.CalamineWorkbook, name: str) -> bool:
    try:
        rows = book.get_sheet_by_name(name).to_python()
    except python_calamine.CalamineError:
        return True
    return all(_is_empty(v) for row in rows for v in row)


def _error_cells(path: Path, sheet: str) -> dict[tuple[int, int], str]:
    """Cells of an xlsx sheet holding a formula error, which calamine reads as empty."""
    try:
        with zipfile.ZipFile(path) as archive:
            target = _sheet_part(archive, sheet)
            if target is None:
                return {}
            with archive.open(target) as stream:
                return _scan_error_cells(stream)
    except (OSError, zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        return {}


_CHUNK = 1 << 22
_LOOK_BACK = 400  # bytes before `t="e"` in which the cell tag starts
_LOOK_AHEAD = 2000  # bytes after it in which the cached value sits


def _scan_error_cells(stream: IO[bytes]) -> dict[tuple[int, int], str]:
    """Scan sheet XML in chunks (a large sheet is 100 MB of XML) for cells with `t="e"`."""
    found: dict[tuple[int, int], str] = {}
    buffer = b""
    start = 0
    while True:
        chunk = stream.read(_CHUNK)
        buffer += chunk
        limit = len(buffer) if not chunk else len(buffer) - _LOOK_AHEAD
        pos = buffer.find(b't="e"', start)
        while pos != -1 and pos < limit:
            _read_error_cell(buffer, pos, found)
            pos = buffer.find(b't="e"', pos + 5)
        if not chunk:
            return found
        # Keep the unscanned tail, with enough before it to find a cell tag's start.
        keep = max(0, limit - _LOOK_BACK)
        buffer = buffer[keep:]
        start = max(0, limit - keep)


def _read_error_cell(xml: bytes, pos: int, found: dict[tuple[int, int], str]) -> None:
    """Record the error cell whose `t="e"` attribute is at `pos`."""
    tag = _CELL_START.search(xml, max(0, pos - _LOOK_BACK), pos)
    ref = _CELL_REF.search(tag.group(0)) if tag else None
    if not ref:
        return  # a cell without a reference cannot be placed; calamine places it the same
    text = "#ERROR"
    close = xml.find(b">", pos)
    if close != -1 and xml[close - 1 : close] != b"/":  # not an empty <c .../>
        value = _CELL_VALUE.search(xml, close, close + _LOOK_AHEAD)
        end = _CELL_END.search(xml, close, close + _LOOK_AHEAD)
        if value and (end is None or value.start() < end.start()):
            text = value.group(1).decode("utf-8", "replace")
    col = 0
    for letter in ref.group(1).decode():
        col = col * 26 + ord(letter) - 64
    found[(int(ref.group(2)), col - 1)] = text


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding the worksheet called `sheet`."""

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rel_id = None
    for el in book.iter():
        if local(el.tag) == "sheet" and el.get("name") == sheet:
            rel_id = next((v for k, v in el.attrib.items() if local(k) == "id"), None)
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for el in rels.iter():
        if local(el.tag) == "Relationship" and el.get("Id") == rel_id:
            target = el.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return str(PurePosixPath("xl") / target)
    return None


# Excel's built-in percentage formats (0% and 0.00%); custom ones are found by their code.
_PERCENT_FORMATS = frozenset({9, 10})
_QUOTED = re.compile(r'"[^"]*"|\\.')
_STYLE_ATTRIBUTE = r'\bs="({})"'


def _percent_cells(path: Path, sheet: str) -> set[tuple[int, int]]:
    """(Excel row, column index) of the cells of an xlsx sheet formatted as a percentage."""
    try:
        with zipfile.ZipFile(path) as archive:
            styles = _percent_styles(archive)
            target = _sheet_part(archive, sheet) if styles else None
            if target is None:
                return set()
            with archive.open(target) as stream:
                return _scan_styled_cells(stream, styles)
    except (OSError, zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError):
        return set()


def _percent_styles(archive: zipfile.ZipFile) -> set[int]:
    """The cell style indexes (`s="…"`) whose number format shows a percentage."""

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    try:
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    except KeyError:
        return set()
    codes: dict[int, str] = {}
    found: set[int] = set()
    for el in styles.iter():
        if local(el.tag) == "numFmt" and el.get("numFmtId", "").isdigit():
            codes[int(el.get("numFmtId", "0"))] = el.get("formatCode", "")
    for el in styles.iter():
        if local(el.tag) != "cellXfs":
            continue
        for index, xf in enumerate(x for x in el if local(x.tag) == "xf"):
            number_format = int(xf.get("numFmtId", "0") or 0)
            code = _QUOTED.sub("", codes.get(number_format, ""))
            if number_format in _PERCENT_FORMATS or "%" in code:
                found.add(index)
    return found


def _scan_styled_cells(stream: IO[bytes], styles: set[int]) -> set[tuple[int, int]]:
    """Scan sheet XML in chunks for cells whose style is one of `styles`."""
    pattern = re.compile(
        _STYLE_ATTRIBUTE.format("|".join(str(s) for s in sorted(styles))).encode()
    )
    found: set[tuple[int, int]] = set()
    buffer = b""
    start = 0
    while True:
        chunk = stream.read(_CHUNK)
        buffer += chunk
        limit = len(buffer) if not chunk else len(buffer) - _LOOK_AHEAD
        for match in pattern.finditer(buffer, start):
            if match.start() >= limit:
                break  # scanned again with the next chunk, with its cell tag around it
            tag = _CELL_START.search(buffer, max(0, match.start() - _LOOK_BACK), match.start())
            ref = _CELL_REF.search(tag.group(0)) if tag else None
            if ref:
                col = 0
                for letter in ref.group(1).decode():
                    col = col * 26 + ord(letter) - 64
                found.add((int(ref.group(2)), col - 1))
        if not chunk:
            return found
        keep = max(0, limit - _LOOK_BACK)
        buffer = buffer[keep:]
        start = max(0, limit - keep)


def map_columns(
    table: _Table, kind: str, problems: ProblemList
) -> tuple[dict[str, int], list[int]]:
    """Each canonical field's column, and the columns no field claims."""
    aliases = {norm(a): name for name, names in COLUMN_ALIASES[kind].items() for a in names}
    columns: dict[str, int] = {}
    others: list[int] = []
    for col, header in enumerate(table.headers):
        if norm(header) in IGNORED_HEADERS:
            continue
        name = aliases.get(norm(header)) if header else None
        if name is None:
            others.append(col)
        elif name in columns:
            problems.add(
                "duplicate_column",
                table.header_row,
                col,
                header,
                first=column_letter(columns[name]),
            )
        else:
            columns[name] = col
    if "unit_name" in columns and "unit" not in columns:
        columns["unit"] = columns.pop("unit_name")  # names alone identify units too
    for name, names in COLUMN_ALIASES[kind].items():
        if name not in columns and (kind, name) not in _OPTIONAL_COLUMNS:
            problems.add(
                "missing_column",
                table.header_row,
                column=name,
                accepted=list(names),
                found=[h for h in table.headers if h],
            )
    return columns, others


# ---------------------------------------------------------------------------------------------
# Row-by-row reading, for the small sheets


@dataclass
class SheetRow:
    """One data row, with helpers that report a problem at one of its cells."""

    table: _Table
    problems: ProblemList
    columns: Mapping[str, int]
    cells: list[Cell]
    number: int  # Excel row
    bad: bool = False

    def raw(self, name: str) -> Cell:
        col = self.columns.get(name)
        return "" if col is None or col >= len(self.cells) else self.cells[col]

    def report(self, code: str, name: str, /, **params: object) -> None:
        col = self.columns[name]
        self.problems.add(code, self.number, col, self.table.header(col), **params)
        self.bad = True

    def text(self, name: str, required: bool = True) -> str:
        """The cell's text; an empty required cell is reported."""
        value = _text(self.raw(name))
        if not value and required and (self.number, self.columns[name]) not in self.table.errors:
            self.report("empty_cell", name, field=name)
        return value


def data_rows(
    table: _Table, columns: Mapping[str, int], problems: ProblemList
) -> Iterable[SheetRow]:
    """The non-blank data rows; formula errors in recognised cells are reported on the way."""
    cols = list(columns.values())
    for k, cells in enumerate(table.rows):
        if all(_is_empty(cells[c]) for c in cols if c < len(cells)):
            number = table.excel_row(k)
            if not any((number, c) in table.errors for c in cols):
                continue
        row = SheetRow(table, problems, columns, cells, table.excel_row(k))
        for name, col in columns.items():
            error = table.errors.get((row.number, col))
            if error is not None:
                row.report("formula_error", name, got=error)
        yield row


class UnitIndex:
    """Look units up by code or by name, case- and width-insensitively."""

    def __init__(self, units: Sequence[Unit]) -> None:
        self.by_key: dict[str, Unit] = {}
        for unit in units:
            self.by_key.setdefault(norm(unit.name), unit)
        for unit in units:  # codes win over names
            self.by_key[norm(unit.code)] = unit
        self.words = [u.code for u in units] + [u.name for u in units]
        self._suggestions: dict[str, list[str]] = {}

    def find(self, text: str) -> Unit | None:
        return self.by_key.get(norm(text))

    def suggest(self, text: str) -> list[str]:
        if text not in self._suggestions:
            self._suggestions[text] = _suggest(text, self.words)
        return self._suggestions[text]


def unit_of(row: SheetRow, units: UnitIndex) -> Unit | None:
    text = row.text("unit")
    if not text:
        return None
    unit = units.find(text)
    if unit is None:
        row.report("unknown_unit", "unit", unit=text, suggestions=units.suggest(text))
    elif "unit_name" in row.columns:
        name = _text(row.raw("unit_name"))
        if name and units.find(name) is not unit:
            row.report(
                "unit_name_mismatch", "unit_name", unit=unit.code, name=name, expected=unit.name
            )
    return unit


def _choice(
    row: SheetRow, name: str, words: Mapping[str, Any], code: str, choices: Sequence[str]
) -> Any:
    text = row.text(name)
    if not text:
        return None
    found = words.get(norm(text))
    if found is None:
        row.report(code, name, got=text, choices=list(choices))
    return found


def _require_rows(kind: str, count: int, problems: ProblemList) -> None:
    if count == 0 and kind in ("units", "values", "grades"):
        problems.add("no_data_rows")


# ---------------------------------------------------------------------------------------------
# The five readers. Each checks the file first and parses it in a child process with a memory
# and time limit (services.files.safety); the `_read_*` functions do the work in that child.


def read_units(path: Path, *, source: str | None = None) -> list[Unit]:
    """The assessed units of a `units` workbook (code, name, group); raise `InputError`."""
    name = source if source is not None else str(path)
    return read_guarded(path, name, _read_units, path, source=name)


def read_grades(
    path: Path, plan: Plan, units: Sequence[Unit], *, source: str | None = None
) -> list[GradeRecord]:
    """Every rater's grade of a `grades` workbook; raise `InputError` with every problem."""
    name = source if source is not None else str(path)
    return read_guarded(path, name, _read_grades, path, plan, units, source=name)


def read_bonus(path: Path, units: Sequence[Unit], *, source: str | None = None) -> list[BonusItem]:
    """The bonus items of a `bonus` workbook (may have none); raise `InputError`."""
    name = source if source is not None else str(path)
    return read_guarded(path, name, _read_bonus, path, units, source=name)


def read_events(
    path: Path, units: Sequence[Unit], *, source: str | None = None
) -> list[EventCount]:
    """The point-costing events of an `events` workbook (may have none); raise `InputError`."""
    return read_event_sheet(path, units, source=source).events


def read_event_sheet(
    path: Path, units: Sequence[Unit], *, source: str | None = None
) -> EventSheet:
    """The events and the findings counts of an `events` workbook (may have none); raise
    `InputError` with every problem."""
    name = source if source is not None else str(path)
    return read_guarded(path, name, _read_event_sheet, path, units, source=name)


def read_values(
    path: Path,
    plan: Plan,
    units: Sequence[Unit],
    *,
    source: str | None = None,
    warnings: list[InputProblem] | None = None,
) -> IndicatorValues:
    """The towns' indicator values of a `values` workbook; raise `InputError`. What deserves
    a second look but is no error (a column mixing percentage-formatted cells with plain
    numbers) is appended to `warnings`."""
    name = source if source is not None else str(path)
    values, found = read_guarded(path, name, _read_values, path, plan, units, source=name)
    if warnings is not None:
        warnings.extend(found)
    return values


def _read_units(path: Path, *, source: str | None = None) -> list[Unit]:
    """The assessed units of a `units` workbook (code, name, group); raise `InputError`."""
    problems = ProblemList(source if source is not None else str(path))
    table = open_table(path, "units", problems)
    columns, _ = map_columns(table, "units", problems)
    problems.raise_if_any()
    units: list[Unit] = []
    codes: dict[str, int] = {}
    names: dict[str, int] = {}
    count = 0
    group_choices = [f"{GROUP_LABELS[g]}/{SHORT_NAMES[g]}" for g in Group]
    for row in data_rows(table, columns, problems):
        count += 1
        code = row.text("code")
        name = row.text("name")
        group = _choice(row, "group", GROUP_WORDS, "unknown_group", group_choices)
        if code:
            first = codes.setdefault(norm(code), row.number)
            if first != row.number:
                row.report("duplicate_unit_code", "code", unit=code, first_row=first)
        if name:
            first = names.setdefault(norm(name), row.number)
            if first != row.number:
                row.report("duplicate_unit_name", "name", name=name, first_row=first)
        if not row.bad and group is not None:
            units.append(Unit(code, name, group))
    _require_rows("units", count, problems)
    problems.raise_if_any()
    return units


def _read_grades(
    path: Path, plan: Plan, units: Sequence[Unit], *, source: str | None = None
) -> list[GradeRecord]:
    """Every rater's grade of a `grades` workbook; raise `InputError` with every problem."""
    problems = ProblemList(source if source is not None else str(path))
    table = open_table(path, "grades", problems)
    columns, _ = map_columns(table, "grades", problems)
    problems.raise_if_any()
    index = UnitIndex(units)
    items = {norm(key): item for item in plan.work.items for key in (item.code, item.name)}
    item_choices = [i.name for i in plan.work.items] + [i.code for i in plan.work.items]
    period_choices = [*QUARTERS, YEAR_END, PERIOD_LABELS[YEAR_END]]
    grade_choices = [*GRADE_LABELS.values(), *(g.value for g in Grade)]
    source_choices = [*SOURCE_LABELS.values(), *(s.value for s in SOURCE_LABELS)]
    records: list[GradeRecord] = []
    seen: dict[tuple[str, str, str, str, YearEndSource], int] = {}
    count = 0
    for row in data_rows(table, columns, problems):
        count += 1
        unit = unit_of(row, index)
        item = _choice(row, "item", items, "unknown_item", item_choices)
        period = _choice(row, "period", PERIOD_WORDS, "unknown_period", period_choices)
        rater = row.text("rater")
        grade = _choice(row, "grade", GRADE_WORDS, "unknown_grade", grade_choices)
        given_by: YearEndSource | None = YearEndSource.PANEL
        if "source" in columns and row.text("source", required=False):
            given_by = _choice(row, "source", SOURCE_WORDS, "unknown_source", source_choices)
        if given_by is YearEndSource.PEER:
            rater = _peer_rater(row, plan, index, unit, item, period, rater)
        if row.bad or unit is None or item is None or period is None or grade is None:
            continue
        if given_by is None:
            continue
        key = (unit.code, item.code, period, norm(rater), given_by)
        first = seen.setdefault(key, row.number)
        if first != row.number:
            row.report(
                "duplicate_grade",
                "rater",
                unit=unit.code,
                item=item.code,
                period=period,
                rater=rater,
                first_row=first,
            )
            continue
        records.append(GradeRecord(unit.code, item.code, period, rater, grade, given_by))
    _require_rows("grades", count, problems)
    problems.raise_if_any()
    return records


def _peer_rater(
    row: SheetRow,
    plan: Plan,
    units: UnitIndex,
    unit: Unit | None,
    item: Any,
    period: str | None,
    rater: str,
) -> str:
    """The code of the unit that gave a peer vote (互评), reporting at the row every reason it
    cannot count: no peers in the plan, an item peers do not rate, not the year-end, a rater
    that is no unit, the unit itself, or a unit of another group."""
    year_end = plan.work.year_end
    if year_end.weight(YearEndSource.PEER) <= 0:
        row.report("peer_not_in_plan", "source")
        return rater
    if item is not None and item.code not in year_end.peer_items:
        names = [i.name for i in plan.work.items if i.code in year_end.peer_items]
        row.report("peer_item_not_rated", "item", item=item.name, items=names)
    if period is not None and period != YEAR_END:
        row.report("peer_not_year_end", "period", period=period)
    if not rater:
        return rater
    rating = units.find(rater)
    if rating is None:
        row.report("unknown_rater_unit", "rater", rater=rater, suggestions=units.suggest(rater))
        return rater
    if unit is not None and rating.code == unit.code:
        row.report("peer_own_unit", "rater", unit=unit.name)
    elif unit is not None and rating.group is not unit.group:
        row.report(
            "peer_other_group",
            "rater",
            rater=rating.name,
            unit=unit.name,
            group=GROUP_LABELS[rating.group],
        )
    return rating.code


def _read_bonus(
    path: Path, units: Sequence[Unit], *, source: str | None = None
) -> list[BonusItem]:
    """The bonus items of a `bonus` workbook (may have none); raise `InputError`."""
    problems = ProblemList(source if source is not None else str(path))
    table = open_table(path, "bonus", problems)
    columns, _ = map_columns(table, "bonus", problems)
    problems.raise_if_any()
    index = UnitIndex(units)
    items: list[BonusItem] = []
    seen: dict[tuple[str, str], int] = {}
    for row in data_rows(table, columns, problems):
        unit = unit_of(row, index)
        title = row.text("title")
        evidence = row.text("evidence", required=False) if "evidence" in columns else ""
        approved = None
        if row.text("approved"):
            approved = _yes_no(row.raw("approved"))
            if approved is None:
                row.report("bad_yes_no", "approved", got=_text(row.raw("approved")))
        if row.bad or unit is None or approved is None:
            continue
        first = seen.setdefault((unit.code, norm(title)), row.number)
        if first != row.number:
            row.report("duplicate_bonus", "title", unit=unit.code, title=title, first_row=first)
            continue
        items.append(BonusItem(unit.code, title, approved, evidence))
    problems.raise_if_any()
    return items


@dataclass(frozen=True)
class EventSheet:
    """What an `events` workbook holds: the point-costing events, and per unit the findings
    due and rectified on time (the rectification evaluation, scoring.md §2b)."""

    events: list[EventCount]
    rectification: list[RectificationCount]


def _read_event_sheet(
    path: Path, units: Sequence[Unit], *, source: str | None = None
) -> EventSheet:
    """The work of `read_event_sheet`, in the child process."""
    problems = ProblemList(source if source is not None else str(path))
    table = open_table(path, "events", problems)
    columns, _ = map_columns(table, "events", problems)
    problems.raise_if_any()
    index = UnitIndex(units)
    event_choices = [
        *EVENT_LABELS.values(),
        *FINDING_LABELS.values(),
        *(k.value for k in EventKind),
        *FINDING_LABELS,
    ]
    words: dict[str, EventKind | str] = {**EVENT_WORDS, **FINDING_WORDS}
    counts: list[EventCount] = []
    findings: dict[str, dict[str, tuple[int, int]]] = {}  # unit -> kind -> (count, row)
    seen: dict[tuple[str, EventKind | str], int] = {}
    unsure: set[str] = set()
    for row in data_rows(table, columns, problems):
        unit = unit_of(row, index)
        event = _choice(row, "event", words, "unknown_event", event_choices)
        count = None
        if row.text("count"):
            count = _whole_number(row.raw("count"))
            if count is None:
                row.report("bad_count", "count", got=_text(row.raw("count")))
            elif count > COUNT_LIMIT:
                row.report("count_too_large", "count", got=count, limit=COUNT_LIMIT)
                count = None
        if row.bad or unit is None or event is None or count is None:
            if unit is not None and not isinstance(event, EventKind):
                unsure.add(unit.code)  # its counts cannot be compared until the row is fixed
            continue
        name = event.value if isinstance(event, EventKind) else event
        first = seen.setdefault((unit.code, event), row.number)
        if first != row.number:
            row.report("duplicate_event", "event", unit=unit.code, event=name, first_row=first)
            continue
        if isinstance(event, EventKind):
            counts.append(EventCount(unit.code, event, count))
        else:
            findings.setdefault(unit.code, {})[event] = (count, row.number)
    rectification: list[RectificationCount] = []
    for code, given in findings.items():
        due, _ = given.get(FINDING_DUE, (0, 0))
        on_time, on_time_row = given.get(FINDING_ON_TIME, (0, 0))
        if on_time > due and code not in unsure:
            problems.add(
                "rectified_more_than_due",
                on_time_row,
                columns["count"],
                table.header(columns["count"]),
                unit=code,
                due=due,
                on_time=on_time,
            )
            continue
        rectification.append(RectificationCount(code, due, on_time))
    problems.raise_if_any()
    return EventSheet(counts, rectification)


def _read_values(
    path: Path, plan: Plan, units: Sequence[Unit], *, source: str | None = None
) -> tuple[IndicatorValues, list[InputProblem]]:
    """The work of `read_values`, in the child process: the values and the warnings.

    Built for large files: cells are checked column by column, with a fast path for columns
    that hold only numbers.
    """
    problems = ProblemList(source if source is not None else str(path))
    table = open_table(path, "values", problems)
    columns, others = map_columns(table, "values", problems)
    indicator_of = {
        norm(key): ind for ind in plan.development.indicators for key in (ind.code, ind.name)
    }
    indicator_cols: dict[str, int] = {}
    for col in others:
        header = table.headers[col]
        ind = indicator_of.get(norm(header)) if header else None
        if ind is None:
            if header:
                codes = [i.code for i in plan.development.indicators]
                names = [i.name for i in plan.development.indicators]
                problems.add(
                    "unknown_column",
                    table.header_row,
                    col,
                    header,
                    header=header,
                    suggestions=_suggest(header, codes + names),
                )
            elif any(col < len(r) and not _is_empty(r[col]) for r in table.rows):
                problems.add("column_without_header", table.header_row, col)
        elif ind.code in indicator_cols:
            letter = column_letter(indicator_cols[ind.code])
            problems.add("duplicate_column", table.header_row, col, header, first=letter)
        else:
            indicator_cols[ind.code] = col
    if not indicator_cols:
        problems.add(
            "no_indicator_columns",
            table.header_row,
            indicators=[i.code for i in plan.development.indicators],
        )
    if "unit" not in columns:
        problems.raise_if_any()
    unit_col = columns["unit"]
    width = max(len(table.headers), max((len(r) for r in table.rows), default=0))
    rows = [r if len(r) == width else [*r, *[""] * (width - len(r))] for r in table.rows]
    data_cols = [unit_col, *indicator_cols.values()]
    keep = [not all(_is_empty(r[c]) for c in data_cols) for r in rows]
    for row_number, col in table.errors:
        k = row_number - table.header_row - 1
        if 0 <= k < len(keep) and col in data_cols:
            keep[k] = True
            problems.add(
                "formula_error",
                row_number,
                col,
                table.header(col),
                got=table.errors[(row_number, col)],
            )
    kept = [k for k, flag in enumerate(keep) if flag]
    if not kept:
        _require_rows("values", 0, problems)
        problems.raise_if_any()

    index = UnitIndex(units)
    unit_header = table.header(unit_col)
    unit_codes: list[str] = []
    first_row: dict[str, int] = {}
    for k in kept:
        number = table.excel_row(k)
        text = _text(rows[k][unit_col])
        if not text:
            if (number, unit_col) not in table.errors:
                problems.add("empty_cell", number, unit_col, unit_header, field="unit")
            continue
        unit = index.find(text)
        if unit is None:
            problems.add(
                "unknown_unit",
                number,
                unit_col,
                unit_header,
                unit=text,
                suggestions=index.suggest(text),
            )
            continue
        name_col = columns.get("unit_name")
        if name_col is not None:
            name = _text(rows[k][name_col])
            if name and index.find(name) is not unit:
                problems.add(
                    "unit_name_mismatch",
                    number,
                    name_col,
                    table.header(name_col),
                    unit=unit.code,
                    name=name,
                    expected=unit.name,
                )
        if unit.group is not Group.TOWN:
            problems.add(
                "value_for_non_town",
                number,
                unit_col,
                unit_header,
                unit=unit.code,
                name=unit.name,
            )
        first = first_row.setdefault(unit.code, number)
        if first != number:
            problems.add(
                "duplicate_unit", number, unit_col, unit_header, unit=unit.code, first_row=first
            )
        unit_codes.append(unit.code)

    # Transposing once in C is much cheaper than picking each column out row by row.
    cells_by_column = list(zip(*(rows[k] for k in kept), strict=True))
    order = [ind.code for ind in plan.development.indicators if ind.code in indicator_cols]
    matrix = np.empty((len(kept), len(order)))
    for j, code in enumerate(order):
        col = indicator_cols[code]
        column = cells_by_column[col]
        numbers, bad = _number_column(column)
        matrix[:, j] = numbers
        for i, problem in bad:
            problems.add(
                problem,
                table.excel_row(kept[i]),
                col,
                table.header(col),
                got=_text(column[i]),
                indicator=code,
                limit=VALUE_LIMIT,
            )
    problems.raise_if_any()
    values = IndicatorValues(tuple(unit_codes), tuple(order), matrix)
    percent = _percent_cells(path, table.sheet) if table.zipped else set()
    warnings = ProblemList(problems.source, problems.sheet)
    for j, code in enumerate(order):
        col = indicator_cols[code]
        _mixed_percent(warnings, table, kept, col, cells_by_column[col], matrix[:, j], percent)
    return values, [p for *_, p in sorted(warnings.found, key=lambda t: t[:3])]


def _mixed_percent(
    warnings: ProblemList,
    table: _Table,
    kept: Sequence[int],
    col: int,
    cells: Sequence[Cell],
    numbers: np.ndarray,
    percent: set[tuple[int, int]],
) -> None:
    """Warn when number cells formatted as a percentage (Excel stores 7.5 % as 0.075) share a
    column with plain numbers (6.0): one of the two is likely in the wrong unit."""
    if not percent:
        return
    as_percent: list[int] = []
    plain: list[int] = []
    for i, k in enumerate(kept):
        if math.isnan(numbers[i]) or type(cells[i]) not in (float, int):
            continue  # empty, or text ("7.5%" is read as 7.5, in the column's own unit)
        (as_percent if (table.excel_row(k), col) in percent else plain).append(i)
    if not as_percent or not plain:
        return
    letter = column_letter(col)
    first, example = as_percent[0], plain[0]
    warnings.add(
        "mixed_percent",
        None,
        col,
        table.header(col),
        cells=[f"{letter}{table.excel_row(kept[i])}" for i in as_percent[:10]],
        count=len(as_percent),
        fraction=float(numbers[first]),
        shown=round(float(numbers[first]) * 100, 6),
        example_cell=f"{letter}{table.excel_row(kept[example])}",
        example=float(numbers[example]),
    )


def _number_column(column: Sequence[Cell]) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """A column of cells as floats (NaN for empty) and the positions that are not usable
    numbers, each with its problem: `not_a_number` (text, or a cell holding NaN or infinity)
    or `number_too_large` (beyond ±VALUE_LIMIT)."""
    kinds = set(map(type, column))
    if kinds <= {float, int, str}:
        # Vectorised: numbers and empty text only, the usual case, needs no per-cell Python.
        cells = np.array(column, dtype=object)
        empty = np.zeros(len(cells), dtype=bool)
        if str in kinds:
            empty = cells == ""
            if set(map(type, cells[~empty])) <= {float, int}:
                cells[empty] = 0.0
                kinds = {float}
        if kinds <= {float, int}:
            numbers = cells.astype(float)
            # A cell holding NaN is not an empty cell: only empty text is a missing value.
            if np.isfinite(numbers).all() and (np.abs(numbers) <= VALUE_LIMIT).all():
                numbers[empty] = math.nan
                return numbers, []
    out = np.empty(len(column))
    bad: list[tuple[int, str]] = []
    for i, value in enumerate(column):
        number = parse_number(value)
        if number is None:
            bad.append((i, "not_a_number"))
            out[i] = math.nan
        elif abs(number) > VALUE_LIMIT:
            bad.append((i, "number_too_large"))
            out[i] = math.nan
        else:
            out[i] = number
    return out, bad


# ---------------------------------------------------------------------------------------------
# Rendering


def split_column(column: str) -> tuple[str, str]:
    """The letter and the header of a problem's column such as `C (gdp_growth)`."""
    match = _COLUMN.fullmatch(column)
    if match:
        return match.group(1), match.group(2) or ""
    return "", column


def format_problem(
    problem: InputProblem, language: str | None = None, *, html: bool = False
) -> str:
    """One problem as one line: file, sheet, row, column, what is wrong and how to fix it."""
    key = f"workbook.{problem.code}"
    if has_message(key, language):
        message = render(key, language, html=html, **dict(problem.params))
    else:
        message = render(
            "workbook.unknown_problem",
            language,
            html=html,
            code=problem.code,
            params=dict(problem.params),
        )
    letter, header = split_column(problem.column)
    if html:
        message = Markup(message)  # already escaped: keep it from being escaped twice
    return render(
        "workbook.problem_line",
        language,
        html=html,
        file=problem.source,
        sheet=problem.sheet,
        row=problem.row,
        letter=letter,
        header=header,
        message=message,
    )
