"""Fixtures of the dashboard's tests: the seeded sample district and the app on it."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.settings import Settings
from storage.clock import FixedClock
from storage.database import Database, open_database
from storage.models import Base
from storage.unit_of_work import UnitOfWork
from tests.web.district import BOT_TOKEN, NOW, seed
from web.app import WebDeps, create_app
from web.auth import sign_init_data


@pytest.fixture(scope="session")
def seeded_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding the seeded district (copied for each test)."""
    path = tmp_path_factory.mktemp("web") / "district.db"
    shutil.copyfile(sqlite_template, path)
    db = open_database(f"sqlite:///{path}")
    seed(db, FixedClock(NOW))
    db.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def district(
    request: pytest.FixtureRequest, tmp_path: Path, seeded_template: Path
) -> Iterator[Database]:
    """The seeded district on each kind of database."""
    if request.param == "sqlite":
        path = tmp_path / "kaohe.db"
        shutil.copyfile(seeded_template, path)
        db = open_database(f"sqlite:///{path}")
    else:
        db = open_database(request.getfixturevalue("postgres_url"))
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        seed(db, FixedClock(NOW))
    yield db
    db.dispose()


def web_deps(db: Database, clock: FixedClock, **files: bytes) -> WebDeps:
    """The dashboard's dependencies on `db`; `files` are what the bot would fetch by id."""

    async def fetch(file_id: str) -> bytes:
        return files[file_id]

    return WebDeps(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        uow=lambda: UnitOfWork(db, clock),
        read_uow=lambda: UnitOfWork(db, clock, read_only=True),
        clock=clock,
        bot_token=BOT_TOKEN,
        fetch_file=fetch,
    )


def init_data(telegram_id: int, *, age: float = 60.0, token: str = BOT_TOKEN, **user: Any) -> str:
    """Init data as Telegram signs it for a user, `age` seconds old."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": telegram_id, "first_name": "测试", **user}, ensure_ascii=False),
        "auth_date": str(int(NOW.timestamp() - age)),
    }
    return sign_init_data(fields, token)


def tma(telegram_id: int, **kwargs: Any) -> dict[str, str]:
    """The Authorization header of a Mini App call."""
    return {"Authorization": "tma " + init_data(telegram_id, **kwargs)}


@pytest.fixture
def sqlite_district(tmp_path: Path, seeded_template: Path) -> Iterator[Database]:
    """The seeded district on SQLite only (for what does not depend on the database)."""
    path = tmp_path / "kaohe.db"
    shutil.copyfile(seeded_template, path)
    db = open_database(f"sqlite:///{path}")
    yield db
    db.dispose()


@asynccontextmanager
async def dashboard_client(db: Database, clock: FixedClock) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the dashboard on `db`."""
    app = create_app(web_deps(db, clock))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dash.test") as c:
        yield c


@pytest.fixture
async def client(district: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the dashboard on the seeded district (each database), clock at NOW."""
    async with dashboard_client(district, FixedClock(NOW)) as c:
        yield c


@pytest.fixture
async def sqlite_client(sqlite_district: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the dashboard on the seeded district on SQLite, clock at NOW."""
    async with dashboard_client(sqlite_district, FixedClock(NOW)) as c:
        yield c
