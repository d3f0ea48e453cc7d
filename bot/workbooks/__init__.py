"""Data workbooks: read coordinators' xlsx files into scoring input, write templates for them."""

from bot.workbooks.input_templates import TEMPLATE_KINDS, write_template
from bot.workbooks.reader import (
    format_problem,
    read_bonus,
    read_events,
    read_grades,
    read_units,
    read_values,
)

__all__ = [
    "TEMPLATE_KINDS",
    "format_problem",
    "read_bonus",
    "read_events",
    "read_grades",
    "read_units",
    "read_values",
    "write_template",
]
