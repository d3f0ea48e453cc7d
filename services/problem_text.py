"""Bad plans and bad workbooks as lines a person can act on, from the message catalogs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from scoring import InputError, InputProblem
from services.files.plan_file import PlanFileError
from templates import render

MAX_LINES = 200


def plan_error_lines(error: PlanFileError, language: str | None = None) -> list[str]:
    """Every problem of a plan file, with its line and path, between a header and a footer."""
    if error.code != "problems":
        return [render(f"plan.{error.code}", language, **{"file": error.file, **error.params})]
    lines = [render("plan.header", language, file=error.file, count=len(error.problems))]
    for problem, line in zip(error.problems, error.lines, strict=True):
        message = render(f"plan.{problem.code}", language, **problem.params)
        lines.append(
            "  "
            + render("plan.problem_line", language, line=line, path=problem.path, message=message)
        )
    lines.append(render("plan.footer", language))
    return lines


def input_error_lines(error: InputError, language: str | None = None) -> list[str]:
    """Every problem of the workbooks, grouped by file, at most `MAX_LINES` of them."""
    from services.files.reader import SHEET_NAMES, format_problem  # pandas: only on an error

    by_file: dict[str, list[str]] = defaultdict(list)
    for problem in error.problems:
        by_file[problem.source].append(format_problem(problem, language))
    kinds = [k for p in error.problems for k, names in SHEET_NAMES.items() if p.sheet in names]
    lines: list[str] = []
    shown = 0
    for file, messages in by_file.items():
        lines.append(render("workbook.header", language, file=file, count=len(messages)))
        for message in messages:
            if shown < MAX_LINES:
                lines.append("  " + message)
            shown += 1
    if shown > MAX_LINES:
        lines.append(render("cli.more_problems", language, count=shown - MAX_LINES))
    lines.append(render("workbook.footer", language, kind=kinds[0] if kinds else "values"))
    return lines


def warning_lines(warnings: Sequence[InputProblem], language: str | None = None) -> list[str]:
    """What deserves a second look in the workbooks, grouped by file (nothing is refused)."""
    if not warnings:
        return []
    from services.files.reader import format_problem  # pandas: only when there is a warning

    by_file: dict[str, list[str]] = defaultdict(list)
    for warning in warnings:
        by_file[warning.source].append(format_problem(warning, language))
    lines: list[str] = []
    for file, messages in by_file.items():
        lines.append(render("workbook.warnings_header", language, file=file, count=len(messages)))
        lines.extend("  " + message for message in messages[:MAX_LINES])
    return lines
