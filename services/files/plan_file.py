"""Read a plan file (YAML) into a `Plan`, with line numbers on every broken rule."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from scoring import Plan, PlanError, PlanProblem, parse_plan
from scoring.problems import Location


@dataclass(frozen=True)
class PlanFileError(Exception):
    """A plan file that cannot be used: unreadable, not YAML, or breaking plan rules."""

    file: str
    code: str
    params: dict[str, Any]
    problems: tuple[PlanProblem, ...] = ()
    lines: tuple[int | None, ...] = ()


def default_plan_text(year: int) -> str:
    """The default plan of `year` as YAML text, with comments."""
    from jinja2 import Template  # here: reading a plan (`kaohe --help`'s imports) needs no Jinja2

    source: str = files("templates").joinpath("plans/default.yaml").read_text(encoding="utf-8")
    return str(Template(source, keep_trailing_newline=True).render(year=year))


# libyaml's loader when PyYAML was built with it (several times faster), else the pure one.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=64)
def load_plan_text(text: str, file: str = "<plan>") -> Plan:
    """Parse and validate plan YAML text; raise `PlanFileError` with every problem found.

    Results are cached by text: a `Plan` is immutable, and services read the year's plan often.
    """
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise PlanFileError(
            file,
            "yaml_syntax",
            {
                "problem": exc.problem or str(exc),
                "line": mark.line + 1 if mark else 0,
                "column": mark.column + 1 if mark else 0,
            },
        ) from exc
    except yaml.YAMLError as exc:
        raise PlanFileError(
            file, "yaml_syntax", {"problem": str(exc), "line": 0, "column": 0}
        ) from exc
    try:
        return parse_plan(data)
    except PlanError as exc:
        lines = _line_map(yaml.compose(text, Loader=_Loader))
        raise PlanFileError(
            file,
            "problems",
            {"count": len(exc.problems)},
            exc.problems,
            tuple(_line_of(lines, p.location) for p in exc.problems),
        ) from exc


def load_plan_file(path: Path) -> Plan:
    """Read and validate the plan file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PlanFileError(str(path), "file_missing", {"file": str(path)}) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(
            str(path), "file_unreadable", {"file": str(path), "reason": str(exc)}
        ) from exc
    return load_plan_text(text, str(path))


def _line_map(node: yaml.Node | None) -> dict[Location, int]:
    """The 1-based line of every key and list entry of the YAML document."""
    out: dict[Location, int] = {}

    def walk(n: yaml.Node, loc: Location) -> None:
        out.setdefault(loc, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                key = (*loc, str(key_node.value))
                out[key] = key_node.start_mark.line + 1
                walk(value_node, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*loc, i))

    if node is not None:
        walk(node, ())
    return out


def _line_of(lines: dict[Location, int], location: Location) -> int | None:
    """The line of `location`, or of its nearest parent that is in the file."""
    loc = location
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None
