"""Problems found in input: where they are and what is wrong, as a code and parameters.

The code names a message template; the parameters fill it in. Nothing here is prose meant for a
person, so that every message can be rendered in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Location = tuple[str | int, ...]


def format_location(location: Location) -> str:
    """Render a location as a path, such as `development.categories[0].indicators[1].points`."""
    out = ""
    for part in location:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True)
class PlanProblem:
    """One broken rule of a plan file."""

    location: Location
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The location as a dotted path."""
        return format_location(self.location) or "(plan)"


class PlanError(ValueError):
    """A plan that breaks one or more rules; carries every broken rule at once."""

    def __init__(self, problems: Sequence[PlanProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.path}: {p.code} {dict(p.params)}" for p in self.problems))


@dataclass(frozen=True)
class InputProblem:
    """One bad cell, row, column or sheet of scoring input (a workbook, or stored data)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    sheet: str = ""
    row: int | None = None
    column: str = ""


class InputError(ValueError):
    """Scoring input that cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[InputProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            "; ".join(
                f"{p.source}:{p.sheet}:{p.row}:{p.column}: {p.code} {dict(p.params)}"
                for p in self.problems
            )
        )

    def __reduce__(self) -> tuple[type[InputError], tuple[tuple[InputProblem, ...]]]:
        # Pickled with its problems (workbooks are read in a child process), not its message.
        return (type(self), (self.problems,))
