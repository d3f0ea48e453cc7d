"""What every command shares: the language, consoles, and turning errors into messages."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from scoring import InputError, InputProblem
from services.errors import Refused, ServiceError
from services.files.plan_file import PlanFileError
from services.language import configured_language
from services.problem_text import input_error_lines, plan_error_lines, warning_lines
from storage.errors import DatabaseUnavailable
from templates import render

BAD_INPUT = 2
REFUSED = 3
UNAVAILABLE = 4
LANG = configured_language()  # not get_settings(): pydantic would double `kaohe --help`'s time

# Piped output (a file, a test) gets a wide console, so tables are never squeezed into 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def t(key: str, **params: Any) -> str:
    """A message of the catalogs in the configured language."""
    return render(key, LANG, **params)


def year_or_default(year: int | None) -> int:
    """The year named with --year, else the assessment year (the latest loaded, unclosed)."""
    if year is not None:
        return year
    from services import wiring  # here: opening the database is for commands that need it
    from services.plans import default_year_now
    from services.settings import get_settings

    with handled():
        return default_year_now(wiring.read_only_unit_of_work(), get_settings().timezone)


def fail(lines: list[str], status: int = BAD_INPUT) -> NoReturn:
    """Print `lines` on stderr and exit with `status`."""
    for line in lines:
        err.print(line, markup=False)
    raise typer.Exit(status)


def warn(warnings: Sequence[InputProblem]) -> None:
    """Print what deserves a second look in the workbooks on stderr (nothing was refused)."""
    for line in warning_lines(warnings, LANG):
        err.print(line, markup=False)


def service_error_text(error: ServiceError) -> str:
    """The message of a service error."""
    return render(f"errors.{error.code}", LANG, **error.params)


@contextmanager
def handled() -> Iterator[None]:
    """Turn bad input (status 2), refusals (3) and an unavailable database (4) into messages."""
    try:
        yield
    except PlanFileError as exc:
        fail(plan_error_lines(exc, LANG))
    except InputError as exc:
        fail(input_error_lines(exc, LANG))
    except DatabaseUnavailable as exc:
        fail([t(f"errors.database_{exc.reason}", detail=exc.detail)], UNAVAILABLE)
    except Refused as exc:
        fail([service_error_text(exc)], REFUSED)
    except ServiceError as exc:
        fail([service_error_text(exc)], BAD_INPUT)


def check_output(path: Path, force: bool = False) -> None:
    """Refuse (status 2) an output file that exists without --force, or that cannot be written
    (a missing or read-only folder, a folder in its place), before any work is done."""
    if path.is_dir():
        fail([t("cli.output_is_folder", file=str(path))])
    if path.exists() and not force:
        fail([t("cli.file_exists", file=str(path))])
    folder = path.parent
    if not folder.is_dir():
        fail([t("cli.output_no_folder", file=str(path), folder=str(folder))])
    if not os.access(folder, os.W_OK | os.X_OK):
        fail([t("cli.output_not_writable", file=str(path), folder=str(folder))])


def check_output_folder(folder: Path) -> None:
    """Create an output folder (and its parents), or refuse (status 2) saying why it cannot."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail([t("cli.output_folder_failed", folder=str(folder), reason=_reason(exc))])
    if not os.access(folder, os.W_OK | os.X_OK):
        fail([t("cli.output_not_writable", file=str(folder), folder=str(folder))])


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn a failed write (a full disk, a folder removed meanwhile) into a message, status 2."""
    try:
        yield
    except OSError as exc:
        fail([t("cli.output_failed", file=str(path), reason=_reason(exc))])


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
