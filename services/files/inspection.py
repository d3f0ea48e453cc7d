"""What a workbook holds before it is read as one kind: its data sheets and the year it states.

Used by the bot's upload dialog on a workbook a coordinator sends: the kinds of data sheets it
has (by their names, services.files.reader.SHEET_NAMES) and the year its instructions sheet's
title or its file name states. Like the readers, the file is checked first and opened in a
child process with limits (services.files.safety): even the instructions sheet of a hostile file
is parsed there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import python_calamine

from scoring import InputError, InputProblem
from services.files.reader import SHEET_NAMES, norm
from services.files.safety import read_guarded

_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
# Rows of a non-data sheet (the instructions) searched for a stated year.
_TITLE_ROWS = 3


@dataclass(frozen=True)
class WorkbookInfo:
    """What a file holds: the kinds of data sheets found, the year it states, or why it is not
    a workbook that can be read at all."""

    kinds: tuple[str, ...] = ()
    sheets: tuple[str, ...] = ()
    stated_year: int | None = None
    year_from: str | None = None  # "title" | "file_name"
    problems: tuple[InputProblem, ...] = ()


def inspect_workbook(path: Path, file_name: str) -> WorkbookInfo:
    """The data sheets of the workbook at `path` and the year it states (title or name)."""
    try:
        info = read_guarded(path, file_name, _inspect, path, file_name)
    except InputError as exc:
        return WorkbookInfo(problems=exc.problems)
    if info.stated_year is None and not info.problems:
        match = _YEAR.search(file_name)
        if match:
            return WorkbookInfo(info.kinds, info.sheets, int(match.group(1)), "file_name")
    return info


def _inspect(path: Path, file_name: str) -> WorkbookInfo:
    """The work of `inspect_workbook`, in the child process."""
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError:
        return WorkbookInfo(problems=(_problem("workbook_encrypted", file_name),))
    except python_calamine.CalamineError as exc:
        return WorkbookInfo(problems=(_problem("not_a_workbook", file_name, reason=str(exc)),))
    except (OSError, ValueError) as exc:  # a zip that is no workbook (a .docx, say)
        return WorkbookInfo(problems=(_problem("not_a_workbook", file_name, reason=str(exc)),))
    with book:
        names = list(book.sheet_names)
        kinds = tuple(
            kind
            for kind, aliases in SHEET_NAMES.items()
            if any(norm(n) in {norm(a) for a in aliases} for n in names)
        )
        data_sheets = {norm(a) for kind in kinds for a in SHEET_NAMES[kind]}
        stated = None
        for name in names:
            if norm(name) in data_sheets:
                continue
            stated = _year_in_sheet(book, name)
            if stated is not None:
                break
    return WorkbookInfo(kinds, tuple(names), stated, "title" if stated is not None else None)


def _year_in_sheet(book: python_calamine.CalamineWorkbook, name: str) -> int | None:
    try:
        rows = book.get_sheet_by_name(name).to_python(nrows=_TITLE_ROWS)
    except python_calamine.CalamineError:
        return None
    for row in rows:
        for cell in row:
            if isinstance(cell, str):
                match = _YEAR.search(cell)
                if match:
                    return int(match.group(1))
    return None


def _problem(code: str, file_name: str, **params: object) -> InputProblem:
    return InputProblem(code, {"file": file_name, **params}, file_name)
