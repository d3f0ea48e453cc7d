"""The pure scoring engine of kaohe: plan model, formulas, ranks, tiers and explanations.

Nothing here reads files, talks to a database or to Telegram.

The names below are loaded on first use (PEP 562), so that importing a light part (the plan
model, the problems) does not import pandas with the engine: `kaohe --help` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scoring.engine import score
    from scoring.inputs import BonusItem, EventCount, GradeRecord, IndicatorValues, Unit
    from scoring.plan import EventKind, Grade, Group, Plan
    from scoring.plan_parser import parse_plan
    from scoring.problems import InputError, InputProblem, PlanError, PlanProblem
    from scoring.standings import Standings

_HOME = {
    "score": "scoring.engine",
    "BonusItem": "scoring.inputs",
    "EventCount": "scoring.inputs",
    "GradeRecord": "scoring.inputs",
    "IndicatorValues": "scoring.inputs",
    "Unit": "scoring.inputs",
    "EventKind": "scoring.plan",
    "Grade": "scoring.plan",
    "Group": "scoring.plan",
    "Plan": "scoring.plan",
    "parse_plan": "scoring.plan_parser",
    "InputError": "scoring.problems",
    "InputProblem": "scoring.problems",
    "PlanError": "scoring.problems",
    "PlanProblem": "scoring.problems",
    "Standings": "scoring.standings",
}

__all__ = [
    "BonusItem",
    "EventCount",
    "EventKind",
    "Grade",
    "GradeRecord",
    "Group",
    "IndicatorValues",
    "InputError",
    "InputProblem",
    "Plan",
    "PlanError",
    "PlanProblem",
    "Standings",
    "Unit",
    "parse_plan",
    "score",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use, then keep it here."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'scoring' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, loaded or not."""
    return sorted(set(globals()) | set(__all__))
