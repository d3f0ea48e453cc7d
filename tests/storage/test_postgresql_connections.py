"""PostgreSQL connections: what a unit of work costs in round trips, and how the pool recovers
when the server drops its connections (a restart, a terminated backend)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, event, insert, select, text

from storage import database as database_module
from storage.audit import verify
from storage.database import Database, open_database
from storage.errors import DatabaseUnavailable
from storage.models import AuditEntry, AuditHead, PlanVersion
from storage.unit_of_work import UnitOfWork
from tests.conftest import _truncate_all


class Trace:
    """The messages libpq exchanges on every connection of a database, from its opening."""

    def __init__(self, database: Database, folder: Path) -> None:
        folder.mkdir()
        self.path = folder / "libpq.trace"
        self.path.touch()
        self._files: list[Any] = []
        event.listen(database.engine, "connect", self._connect)

    def _connect(self, dbapi_connection: Any, _record: Any) -> None:
        out = self.path.open("a")
        self._files.append(out)
        dbapi_connection.pgconn.trace(out.fileno())
        dbapi_connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

    def _lines(self) -> list[str]:
        for out in self._files:
            out.flush()
        return self.path.read_text().splitlines()

    def close(self) -> None:
        """Stop writing the trace."""
        for out in self._files:
            out.close()
        self._files = []

    def round_trips(self, action: Any) -> list[str]:
        """What `action` sent that waited for an answer: each simple query, each Sync of the
        extended protocol (shown by the statement it parsed)."""
        before = len(self._lines())
        action()
        sent: list[str] = []
        parsed = ""
        for line in self._lines()[before:]:
            parts = line.split("\t")
            if len(parts) < 3 or parts[0] != "F":
                continue
            if parts[2] == "Query":
                sent.append(parts[3].strip(' "').split()[0])
            elif parts[2] == "Parse":
                parsed = parts[3].split('"')[3].split()[0]
            elif parts[2] == "Sync":
                sent.append(parsed)
        return sent


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Database]:
    """The test server's migrated database, emptied, opened with a pool of its own."""
    database = open_database(postgres_url, lock_timeout=1)
    _truncate_all(database)
    database.dispose()
    yield database
    database.dispose()


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[Any]:
    """Trace a database's connections (those opened from now on)."""
    traces: list[Trace] = []

    def start(database: Database) -> Trace:
        traces.append(Trace(database, tmp_path / str(len(traces))))
        return traces[-1]

    yield start
    for trace in traces:
        trace.close()


@pytest.fixture
def admin(postgres_url: str) -> Iterator[Engine]:
    """Another connection to the server, as a database administrator's."""
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _read(database: Database) -> None:
    with UnitOfWork(database, read_only=True) as uow:
        uow.session.execute(select(PlanVersion.year)).all()


def _write(database: Database) -> None:
    with UnitOfWork(database) as uow:
        uow.session.execute(text("SELECT 1"))
        uow.commit()


def test_a_read_only_unit_of_work_costs_one_round_trip_a_statement(
    postgres: Database, traced: Any
) -> None:
    trace = traced(postgres)
    _read(postgres)  # the pool's first connection, made and checked

    def two_reads() -> None:
        with UnitOfWork(postgres, read_only=True) as uow:
            uow.session.execute(select(PlanVersion.year)).all()
            uow.session.execute(select(PlanVersion.version)).all()

    assert trace.round_trips(lambda: _read(postgres)) == ["SELECT"]
    assert trace.round_trips(two_reads) == ["SELECT", "SELECT"]


def test_a_writing_unit_of_work_costs_begin_its_statements_and_commit(
    postgres: Database, traced: Any
) -> None:
    trace = traced(postgres)
    _write(postgres)
    _read(postgres)
    # No ping on checkout: a connection back in the pool a moment ago is handed out as it is.
    assert trace.round_trips(lambda: _write(postgres)) == ["BEGIN", "SELECT", "COMMIT"]
    assert trace.round_trips(lambda: _read(postgres)) == ["SELECT"]


def test_a_connection_idle_longer_than_the_threshold_is_pinged_first(
    postgres_url: str, traced: Any
) -> None:
    database = open_database(postgres_url, ping_after_idle=0.05)
    try:
        trace = traced(database)
        _read(database)
        time.sleep(0.1)
        pinged = trace.round_trips(lambda: _read(database))
        assert len(pinged) == 2 and pinged[1] == "SELECT"
        assert trace.round_trips(lambda: _read(database)) == ["SELECT"]
    finally:
        database.dispose()


def test_a_reader_streaming_rows_gets_a_transaction_and_gives_it_back(
    postgres: Database, traced: Any
) -> None:
    trace = traced(postgres)
    with UnitOfWork(postgres) as uow:  # an audit log of a few entries to read
        for k in range(3):
            uow.audit("test", "test.entry", "test", k)
        uow.commit()
    with UnitOfWork(postgres, read_only=True) as uow:
        assert verify(uow.session) == []  # reads the audit log with a server-side cursor
    assert trace.round_trips(lambda: _read(postgres)) == ["SELECT"]


def test_a_read_only_unit_of_work_cannot_write(database: Database) -> None:
    head = insert(AuditHead).values(id=1, last_id=0, last_hash="0" * 64)
    with (
        pytest.raises(RuntimeError, match="read-only"),
        UnitOfWork(database, read_only=True) as uow,
    ):
        uow.session.execute(head)
    with UnitOfWork(database, read_only=True) as uow:
        assert uow.session.execute(select(AuditHead)).first() is None


def _backends(database: Database, count: int) -> set[int]:
    """Have 2 x `count` connections in the pool at once (half of them readers'); their server
    process ids."""
    uows = [UnitOfWork(database, read_only=k % 2 == 1) for k in range(2 * count)]
    pids = set()
    for uow in uows:
        uow.__enter__()
        pids.add(uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one())
    for uow in uows:
        uow.__exit__(None, None, None)
    return pids


def _terminate(admin: Engine, pids: set[int]) -> None:
    """End the server processes `pids`, as a restart of the server does, and wait for it."""
    with admin.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):
            alive = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                {"pids": list(pids)},
            ).scalar_one()
            if not alive:
                return
            time.sleep(0.02)
    raise AssertionError("the backends are still there")


def test_connections_the_server_dropped_are_replaced_before_use(
    postgres: Database, admin: Engine
) -> None:
    pids = _backends(postgres, 2)
    _terminate(admin, pids)
    # Within the ping threshold: the pool sees on each socket that the server hung up.
    _write(postgres)
    _read(postgres)
    assert _backends(postgres, 2).isdisjoint(pids)


def test_a_silently_lost_connection_idle_past_the_threshold_fails_its_ping_not_the_work(
    postgres_url: str, admin: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = open_database(postgres_url, ping_after_idle=0.05)
    try:
        pids = _backends(database, 2)
        _terminate(admin, pids)
        # As if the goodbye never reached the socket (a crashed host, a dropped network path).
        monkeypatch.setattr(database_module, "_server_hung_up", lambda _connection: False)
        time.sleep(0.1)
        _write(database)
        _read(database)
    finally:
        database.dispose()


@pytest.mark.parametrize("first", [_write, _read], ids=["write", "read"])
def test_a_silently_lost_connection_within_the_threshold_fails_once_then_the_pool_recovers(
    postgres: Database, admin: Engine, monkeypatch: pytest.MonkeyPatch, first: Any
) -> None:
    pids = _backends(postgres, 2)
    _terminate(admin, pids)
    monkeypatch.setattr(database_module, "_server_hung_up", lambda _connection: False)
    with pytest.raises(DatabaseUnavailable) as caught:
        first(postgres)
    assert caught.value.reason == "unreachable"
    # That disconnect invalidated the whole pool: the other stale connections are not used.
    _read(postgres)
    _write(postgres)
    _read(postgres)
    assert _backends(postgres, 2).isdisjoint(pids)


def test_a_connection_dropped_while_in_use_fails_that_unit_of_work_only(
    postgres: Database, admin: Engine
) -> None:
    with pytest.raises(DatabaseUnavailable) as caught, UnitOfWork(postgres) as uow:
        pid = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _terminate(admin, {pid})
        uow.session.execute(text("SELECT 1"))
    assert caught.value.reason == "unreachable"
    _write(postgres)


def _entries(uow: UnitOfWork) -> int:
    return len(uow.session.execute(select(AuditEntry.id)).all())


def _add_entry(database: Database) -> None:
    with UnitOfWork(database) as uow:
        uow.audit("test", "test.entry", "test", 1)
        uow.commit()


def test_a_snapshot_sees_one_moment_for_all_its_reads(database: Database) -> None:
    with UnitOfWork(database).snapshot() as snapshot:
        assert _entries(snapshot) == 0
        _add_entry(database)
        assert _entries(snapshot) == 0
    with UnitOfWork(database).snapshot() as snapshot:
        assert _entries(snapshot) == 1


def test_a_plain_reader_on_postgresql_sees_each_commit_as_before(postgres: Database) -> None:
    with UnitOfWork(postgres, read_only=True) as reader:
        assert _entries(reader) == 0
        _add_entry(postgres)
        assert _entries(reader) == 1  # READ COMMITTED, in a transaction or not


def test_a_snapshot_on_postgresql_pays_its_begin_and_rollback(
    postgres: Database, traced: Any
) -> None:
    trace = traced(postgres)
    _read(postgres)

    def snapshot() -> None:
        with UnitOfWork(postgres).snapshot() as uow:
            uow.session.execute(select(PlanVersion.year)).all()
            with pytest.raises(RuntimeError, match="read-only"):
                uow.session.execute(insert(AuditHead).values(id=1, last_id=0, last_hash="-"))

    assert trace.round_trips(snapshot) == ["BEGIN", "SELECT", "ROLLBACK"]
    assert trace.round_trips(lambda: _read(postgres)) == ["SELECT"]
