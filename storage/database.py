"""Connecting to the database: SQLite (the embedded default, WAL mode) or PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "kaohe_read_only"


def default_database_url(data_dir: Path) -> str:
    """An SQLite file in the data folder."""
    return f"sqlite:///{(data_dir / 'kaohe.db').as_posix()}"


def _sqlite_setup(engine: Engine, lock_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below start transactions, instead of pysqlite's own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A large import grows the WAL file to hundreds of MB; once checkpointed it is cut back.
        cursor.execute("PRAGMA journal_size_limit=67108864")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Writers take the write lock at BEGIN, so two writers never both read the same audit
        # head and fork the chain, and wait for it up to the busy timeout (then "database is
        # locked": DatabaseUnavailable("locked"), told to the person as busy, try again).
        # Readers begin a deferred transaction: in WAL mode they read a snapshot and neither
        # wait for a writer nor block one, however long an import runs.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@dataclass(frozen=True)
class Database:
    """An engine and the session factories of one database."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]

    @property
    def is_sqlite(self) -> bool:
        """Whether this is an SQLite database."""
        return self.engine.dialect.name == "sqlite"

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_database(url: str, echo: bool = False, lock_timeout: float = 10.0) -> Database:
    """Open the database at `url`, creating the folder of an SQLite file if needed.

    A writer waits up to `lock_timeout` seconds for another writer before giving up.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": lock_timeout, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        if parsed.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {
                "connect_timeout": 5,
                "options": f"-c lock_timeout={int(lock_timeout * 1000)}",
            }
    # A failing statement's message must not carry its parameters: they hold people's free text
    # (notes, rectifications, names), which would otherwise reach the log with the traceback.
    engine = create_engine(url, hide_parameters=True, **kwargs)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine, lock_timeout)
    reader = engine.execution_options(**{READ_ONLY: True})
    return Database(
        url=url,
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        read_sessions=sessionmaker(reader, expire_on_commit=False),
    )
