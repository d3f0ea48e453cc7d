"""What every command shares: the language, consoles, and turning errors into messages."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
