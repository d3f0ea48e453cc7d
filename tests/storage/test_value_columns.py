"""A value set read as arrays (packed by PostgreSQL) holds what its rows hold, bit for bit:
the standings read it that way (issue 12)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from scoring import Group, IndicatorValues, Unit
from services.access import Actor
from services.files.plan_file import default_plan_text
from services.people import register_units
from services.plans import load_plan
from services.standings import _value_columns, compute_standings, year_inputs
from services.year_data import import_values
from storage.database import Database
from storage.repositories.year_data import ValueSets
from storage.unit_of_work import UnitOfWork

YEAR = 2025
OPERATOR = Actor.operator("test")


@pytest.fixture
def value_set(uow: Callable[[], UnitOfWork]) -> tuple[int, list[str]]:
    """A value set of three towns with a missing value, values needing all 17 digits and a
    negative zero; its id and indicator codes."""
    load_plan(uow(), OPERATOR, default_plan_text(YEAR), "plan.yaml")
    towns = [Unit(f"t{i}", f"镇{i}", Group.TOWN) for i in range(3)]
    register_units(uow(), OPERATOR, towns)
    codes = [ind.code for ind in year_inputs(uow(), YEAR).plan.development.indicators][:3]
    matrix = np.array(
        [[0.1 + 0.2, np.nan, 1 / 3], [-0.0, 1e15, 2.5], [123456.789012345678, 7.0, -3.25]]
    )
    values = IndicatorValues(tuple(t.code for t in towns), tuple(codes), matrix)
    summary = import_values(uow(), OPERATOR, YEAR, values, "values.xlsx")
    with uow() as work:
        found = work.repository(ValueSets).latest(YEAR)
        assert found is not None and found.version == summary.version
        return found.id, codes


def test_the_columns_are_the_rows_bit_for_bit(
    uow: Callable[[], UnitOfWork], database: Database, value_set: tuple[int, list[str]]
) -> None:
    set_id, codes = value_set
    # The plan's indicators in another order, one of them not in the set, one of the set's not
    # in the "plan": both sides must place them alike.
    plan = [codes[2], "absent", codes[0]]
    with uow() as work:
        sets = work.repository(ValueSets)
        columns = sets.value_columns(set_id, plan)
        expected = _value_columns(sets.values(set_id), plan)
    if database.is_sqlite:
        assert columns is None  # SQLite reads the rows
        return
    assert columns is not None
    order = np.lexsort((columns[1], columns[0]))
    wanted = np.lexsort((expected[1], expected[0]))
    for got, want in zip(columns, expected, strict=True):
        assert got.dtype == want.dtype
        assert np.array_equal(got[order].view(np.int64), want[wanted].view(np.int64))


def test_the_standings_values_are_the_stored_ones(
    uow: Callable[[], UnitOfWork], value_set: tuple[int, list[str]]
) -> None:
    standings = compute_standings(uow(), YEAR)
    efficacy = standings.efficacy.values
    assert efficacy[0, 0] == 0.1 + 0.2 and np.isnan(efficacy[0, 1])
    assert efficacy[2, 0] == 123456.789012345678
