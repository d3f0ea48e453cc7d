"""/templates' workbooks as a service (services.input_templates.template_bytes): written for
the plan in force with the active units, returned as bytes, no file left behind."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from services.access import Actor
from services.errors import NotFound
from services.files.plan_file import default_plan_text
from services.input_templates import KINDS, template_bytes
from services.people import register_units
from services.plans import load_plan
from services.sample_district import sample_units
from storage.unit_of_work import UnitOfWork

OPERATOR = Actor.operator("test")


def test_the_kinds_are_the_data_workbooks_then_the_tasks() -> None:
    assert KINDS == ("units", "values", "grades", "bonus", "events", "tasks")


@pytest.mark.parametrize("kind", KINDS)
def test_each_template_is_a_workbook_for_the_plan_in_force_and_leaves_no_file(
    uow: Callable[[], UnitOfWork],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    register_units(uow(), OPERATOR, sample_units())
    load_plan(uow(), OPERATOR, default_plan_text(2025), "test")
    book = openpyxl.load_workbook(io.BytesIO(template_bytes(uow(), 2025, kind, "zh")))
    assert book.worksheets[0].title == kind
    assert any("2025" in str(c.value) for sheet in book for row in sheet.iter_rows() for c in row)
    assert list(scratch.iterdir()) == []


def test_without_a_plan_the_year_has_no_template(uow: Callable[[], UnitOfWork]) -> None:
    with pytest.raises(NotFound) as caught:
        template_bytes(uow(), 2031, "values", "zh")
    assert caught.value.code == "no_plan"
