"""Database errors never carry the statement's parameters: people's free text stays out of logs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from storage.database import Database
from storage.models import UnitRow

SECRET = "王芳的私人备注 secret-note-7731"


def test_a_failing_statement_shows_no_parameter_values(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    row = {"code": "dianzi", "group": "town", "active": True, "created_at": datetime.now(UTC)}
    with database.engine.begin() as conn:
        conn.execute(insert(UnitRow), {**row, "name": "店子镇"})
    log = logging.getLogger("kaohe.test")
    with pytest.raises(IntegrityError) as caught, database.engine.begin() as conn:
        # The same code again: a unique violation, with free text among the parameters.
        conn.execute(insert(UnitRow), {**row, "name": SECRET})
    with caplog.at_level(logging.DEBUG):
        log.exception("update failed", exc_info=caught.value)
    assert "hide_parameters" in str(caught.value)  # the statement is still named, its values not
    assert SECRET not in str(caught.value)
    assert SECRET not in caplog.text
