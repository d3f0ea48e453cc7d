"""The pure scoring engine of kaohe: plan model, formulas, ranks, tiers and explanations.

Nothing here reads files, talks to a database or to Telegram.
"""

from scoring.engine import score
from scoring.inputs import BonusItem, EventCount, GradeRecord, IndicatorValues, Unit
from scoring.plan import EventKind, Grade, Group, Plan
from scoring.plan_parser import parse_plan
from scoring.problems import InputError, InputProblem, PlanError, PlanProblem
from scoring.standings import Standings

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
