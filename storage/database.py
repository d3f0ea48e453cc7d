"""Connecting to the database: SQLite (the embedded default, WAL mode) or PostgreSQL."""

from __future__ import annotations

import select
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "kaohe_read_only"
# A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE = 1.0
_CHECKED_IN_AT = "kaohe_checked_in_at"


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


def _server_hung_up(dbapi_connection: Any) -> bool:
    """Whether the server has closed an idle connection, or said goodbye on it (a restart, a
    terminated backend, an idle timeout), seen without a round trip: an idle connection has
    nothing to read, so a readable socket means the server spoke first, which it only does to
    end the session (and a false alarm costs a reconnection, not an error)."""
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        return True
    try:
        fd = dbapi_connection.fileno()
    except Exception:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    readable, _, broken = select.select([fd], [], [fd], 0)
    return bool(readable or broken)


def _postgresql_setup(engine: Engine, ping_after_idle: float) -> None:
    """Check a pooled connection before handing it out, cheaply (instead of `pool_pre_ping`,
    a round trip on every checkout: a tenth of what a deadline-day report costs).

    After a restart of the server (or a terminated backend) the first statement on each stale
    pooled connection would fail. A connection the server has closed is seen for free on its
    socket; one idle longer than `ping_after_idle` seconds is also pinged, for a connection
    lost without a word (a crashed host, a dropped network path). A lost connection neither
    check catches (in use at the time, or lost silently within the threshold) fails its unit
    of work with DatabaseUnavailable, and that first disconnect error invalidates the whole
    pool (SQLAlchemy's default), so the next unit of work reconnects.
    """

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None:
            return  # a connection made just now for this checkout
        # Either error makes the pool replace this connection and every other one older than
        # now (the server has most likely restarted: as a failed pool_pre_ping does).
        if _server_hung_up(dbapi_connection):
            raise InvalidatePoolError("the server closed this pooled connection")
        if time.monotonic() - checked_in_at > ping_after_idle:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as exc:
                raise InvalidatePoolError("a pooled connection failed its ping") from exc


def _statement_checks(engine: Engine, autocommit_reads: bool) -> None:
    """Before each statement: a read-only unit of work that tries to write fails loudly (with
    `autocommit_reads` its statements commit one by one, so nothing would undo the write at
    the end); and with `autocommit_reads`, a server-side cursor (`yield_per`), which lives in
    a transaction, gets one (rolled back at the end).

    A dialect event, one call a statement: a statement event on the reader engine would cost
    each read-only unit of work a hundred calls of SQLAlchemy's event plumbing.
    """
    server_cursor: Any = None
    idle: Any = None
    if autocommit_reads:
        import psycopg

        server_cursor, idle = psycopg.ServerCursor, psycopg.pq.TransactionStatus.IDLE

    def check(cursor: Any, context: Any) -> None:
        if (context.isinsert or context.isupdate or context.isdelete) and (
            context.execution_options.get(READ_ONLY)
        ):
            raise RuntimeError("a read-only unit of work cannot write")
        if server_cursor is not None and isinstance(cursor, server_cursor):
            connection = cursor.connection
            if connection.autocommit and connection.info.transaction_status == idle:
                connection.autocommit = False

    @event.listens_for(engine, "do_execute")
    def _do_execute(cursor: Any, _statement: str, _parameters: Any, context: Any) -> None:
        check(cursor, context)

    @event.listens_for(engine, "do_executemany")
    def _do_executemany(cursor: Any, _statement: str, _parameters: Any, context: Any) -> None:
        check(cursor, context)


def _autocommit_readers(engine: Engine) -> None:
    """A read-only unit of work on PostgreSQL with psycopg (3) runs each statement on its own
    (autocommit): one round trip a statement, no BEGIN and no ROLLBACK.

    What a reader sees does not change: at READ COMMITTED, PostgreSQL's default and kaohe's,
    each statement of a transaction already sees what was committed when it began, so a
    transaction of reads never had one snapshot for all its statements (SQLite's readers do:
    a deferred transaction in WAL mode; on PostgreSQL a snapshot unit of work has one, at the
    price of its BEGIN and ROLLBACK: see `open_database`). A server-side cursor gets a
    transaction and a reader's writes are refused (`_statement_checks`).

    The unit of work sets psycopg's autocommit on the connection it takes from the pool
    (`Database.autocommit_reads`), and the pool clears it when the connection comes back:
    SQLAlchemy's isolation_level option does the same with more Python than the two round
    trips cost on a local server, and a pool of readers of its own would double the
    connections kept open.
    """
    import psycopg

    idle = psycopg.pq.TransactionStatus.IDLE

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection: Any, _record: Any) -> None:
        if (
            dbapi_connection is not None
            and dbapi_connection.autocommit
            and dbapi_connection.info.transaction_status == idle
        ):
            dbapi_connection.autocommit = False


@dataclass(frozen=True)
class Database:
    """An engine and the session factories of one database."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    snapshot_sessions: sessionmaker[Session]
    # Whether a read-only unit of work runs its statements in autocommit (PostgreSQL, psycopg).
    autocommit_reads: bool = False

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


def open_database(
    url: str,
    echo: bool = False,
    lock_timeout: float = 10.0,
    ping_after_idle: float = PING_AFTER_IDLE,
) -> Database:
    """Open the database at `url`, creating the folder of an SQLite file if needed.

    A writer waits up to `lock_timeout` seconds for another writer before giving up. A pooled
    PostgreSQL connection idle for more than `ping_after_idle` seconds is pinged before use.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": lock_timeout, "check_same_thread": False}
    elif parsed.get_backend_name() != "postgresql":
        kwargs["pool_pre_ping"] = True
    else:
        kwargs["connect_args"] = {
            "connect_timeout": 5,
            "options": f"-c lock_timeout={int(lock_timeout * 1000)}",
        }
    # A failing statement's message must not carry its parameters: they hold people's free text
    # (notes, rectifications, names), which would otherwise reach the log with the traceback.
    engine = create_engine(url, hide_parameters=True, **kwargs)
    reader = engine.execution_options(**{READ_ONLY: True})
    snapshot = reader
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine, lock_timeout)
    elif engine.dialect.name == "postgresql":
        _postgresql_setup(engine, ping_after_idle)
        # Several reads that must agree with each other (a snapshot unit of work) see the
        # database as it was at the first of them, as an SQLite reader does.
        snapshot = engine.execution_options(
            **{READ_ONLY: True},
            isolation_level="REPEATABLE READ",
            postgresql_readonly=True,
        )
    autocommit_reads = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    if autocommit_reads:
        _autocommit_readers(engine)
    _statement_checks(engine, autocommit_reads)
    return Database(
        url=url,
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        read_sessions=sessionmaker(reader, expire_on_commit=False),
        snapshot_sessions=sessionmaker(snapshot, expire_on_commit=False),
        autocommit_reads=autocommit_reads,
    )
