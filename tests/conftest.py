"""Shared fixtures: every storage and service test runs on SQLite and on PostgreSQL.

PostgreSQL is the server at KAOHE_TEST_POSTGRES_URL (default: the local one at 127.0.0.1:5432,
user postgres, database test); the tests create a database `kaohe_test_<pid>` on it and drop
it at the end.
"""

from __future__ import annotations

import os
import shutil
import ssl
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.clock import FixedClock
from storage.database import Database, open_database
from storage.migrate import upgrade
from storage.models import Base
from storage.unit_of_work import UnitOfWork

pytest_plugins = ["tests.fakes.bot_api"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# One database per test run, so that runs in parallel (CI and a developer) never collide.
TEST_DATABASE = f"kaohe_test_{os.getpid()}"


def pytest_configure(config: pytest.Config) -> None:
    """python-telegram-bot 22 warns (an error here) unless durations are timedeltas."""
    os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture(scope="session", autouse=True)
def one_tls_context() -> Iterator[None]:
    """Every HTTP client of the run shares one default TLS context.

    httpx loads the whole CA bundle for each client it makes, and every bot world makes
    several (the bot's and the updater's): a tenth of a second per world on this machine, for
    clients that only ever talk plain HTTP to the fake Bot API. A context with other settings
    (no verification, a client certificate) is still made afresh.
    """
    from httpx._transports import default

    made = default.create_ssl_context
    shared: dict[bool, ssl.SSLContext] = {}

    def create_ssl_context(
        verify: ssl.SSLContext | str | bool = True, cert: Any = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if verify is not True or cert is not None:
            return made(verify=verify, cert=cert, trust_env=trust_env)
        if trust_env not in shared:
            shared[trust_env] = made(verify=verify, cert=cert, trust_env=trust_env)
        return shared[trust_env]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(default, "create_ssl_context", create_ssl_context)
        yield


def postgres_admin_url() -> str:
    """Where the PostgreSQL server for the tests is."""
    return os.environ.get("KAOHE_TEST_POSTGRES_URL", DEFAULT_POSTGRES)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated database of this test run on the test server."""
    admin = make_url(postgres_admin_url())
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEST_DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {TEST_DATABASE}"))
    engine.dispose()
    url = admin.set(database=TEST_DATABASE).render_as_string(hide_password=False)
    db = open_database(url)
    upgrade(db)
    db.dispose()
    yield url
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEST_DATABASE} WITH (FORCE)"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    db = open_database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # closing the last connection folds the WAL back into the file
    return path


def _truncate_all(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "kaohe.db"
        shutil.copyfile(template, path)
        db = open_database(f"sqlite:///{path}")
    else:
        db = open_database(request.getfixturevalue("postgres_url"))
        _truncate_all(db)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at 2025-03-01 09:00 in Shanghai."""
    return FixedClock(datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture
def uow(database: Database, clock: FixedClock) -> Callable[[], UnitOfWork]:
    """A factory of units of work on the test database with the test clock."""
    return lambda: UnitOfWork(database, clock)
