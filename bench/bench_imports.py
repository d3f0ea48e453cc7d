"""Import benchmark: how long an import holds the write lock, and its throughput, before/after.

    python -m bench.bench_imports [--units 40000] [--backend sqlite|postgresql|both]

For each backend: a plan of 60 indicators and `--units` towns; then the largest imports the
workbook limits allow, each while a probe (another writer, like a liaison submitting a
rectification) writes one audited row every 0.2 s and times how long it waited:

- before: the values and grades imports as kaohe did them until the import-locking change,
  everything (checks, rows built, compared, audited) inside one write transaction;
- after: every import as kaohe does it now, the slow work before short write transactions
  (values: chunks of a set nobody sees, then one short publishing transaction).

Printed per import: total time, throughput, the number of write transactions, the longest and
their sum, and the probe's longest wait and failures; then PASS or MISSED against the goals:
no write transaction longer than WRITE_GOAL (values: chunks) or SINGLE_GOAL (one-transaction
imports of 40,000 rows), the probe never waiting more than PROBE_GOAL, and the values import at
least THROUGHPUT_GOAL of its former throughput. Figures from a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, insert

from bench.bench_storage import plan_text, postgres_database, sqlite_database
from scoring import BonusItem, Grade, GradeRecord, Group, IndicatorValues, Unit
from services.access import Actor
from services.people import register_units
from services.plans import load_plan, plan_in_force
from services.tasks import TaskInput, import_tasks
from services.year_data import GRADE_OF, import_bonus, import_grades, import_values
from storage.clock import FixedClock
from storage.database import Database
from storage.errors import DatabaseUnavailable
from storage.models import GradeRow, IndicatorValue, ValueSet
from storage.repositories.year_data import Grades, ValueSets, YearUnits
from storage.unit_of_work import UnitOfWork

YEAR = 2025
INDICATORS = 60
GRADE_TOWNS = 20_000  # x 5 periods: 100,000 grades
OPERATOR = Actor.operator("bench")
WRITE_GOAL = 0.5  # s: one chunk of a values import
SINGLE_GOAL = 2.0  # s: the one write transaction of a 40,000-row import
PROBE_GOAL = 2.0  # s: the longest another writer waits
THROUGHPUT_GOAL = 0.5  # of the former values throughput
PROBE_EVERY = 0.2


@dataclass
class Run:
    """What one import measured."""

    name: str
    rows: int
    seconds: float = 0.0
    writes: list[float] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    failures: int = 0

    @property
    def throughput(self) -> float:
        """Rows stored per second."""
        return self.rows / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------------------------------------
# Measuring


_recording: list[list[float]] = []
_original_enter = UnitOfWork.__enter__
_original_exit = UnitOfWork.__exit__


def _enter(self: UnitOfWork) -> UnitOfWork:
    self._bench_began = time.perf_counter()  # type: ignore[attr-defined]
    return _original_enter(self)


def _exit(self: UnitOfWork, *exc: Any) -> None:
    try:
        _original_exit(self, *exc)
    finally:
        if not self.read_only and _recording and threading.current_thread() is _importer[0]:
            _recording[-1].append(time.perf_counter() - self._bench_began)  # type: ignore[attr-defined]


_importer: list[threading.Thread] = [threading.main_thread()]


@contextmanager
def write_transactions() -> Iterator[list[float]]:
    """The durations of the importing thread's write transactions within the block."""
    durations: list[float] = []
    _recording.append(durations)
    UnitOfWork.__enter__ = _enter  # type: ignore[method-assign, assignment]
    UnitOfWork.__exit__ = _exit  # type: ignore[method-assign]
    try:
        yield durations
    finally:
        UnitOfWork.__enter__ = _original_enter  # type: ignore[method-assign]
        UnitOfWork.__exit__ = _original_exit  # type: ignore[method-assign]
        _recording.pop()


@contextmanager
def probe(db: Database, clock: FixedClock, run: Run) -> Iterator[None]:
    """Another writer, committing one audited row every PROBE_EVERY seconds, timed."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            try:
                with UnitOfWork(db, clock) as work:
                    work.audit("bench:probe", "probe", "probe", 0, None, {"n": 1})
                    work.commit()
            except DatabaseUnavailable:
                run.failures += 1
            run.waits.append(time.perf_counter() - began)
            stop.wait(PROBE_EVERY)

    thread = threading.Thread(target=loop, name="probe")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def measure(
    db: Database, clock: FixedClock, name: str, rows: int, action: Callable[[], Any]
) -> Run:
    """Run one import in this thread while the probe writes beside it."""
    run = Run(name, rows)
    with probe(db, clock, run), write_transactions() as writes:
        began = time.perf_counter()
        action()
        run.seconds = time.perf_counter() - began
    run.writes = writes
    return run


# ---------------------------------------------------------------------------------------------
# Before: the one-transaction imports (kept here as the baseline, as kaohe did them)


def values_in_one_transaction(uow: UnitOfWork, values: IndicatorValues, source: str) -> None:
    """The values import before: checks, rows, inserts (SQLAlchemy executemany of dicts, COPY
    on PostgreSQL), the comparison with the replaced version and the audit, in one transaction."""
    with uow:
        plan_in_force(uow, YEAR)
        units = {r.code: r.id for r in uow.repository(YearUnits).rows()}
        sets = uow.repository(ValueSets)
        previous = sets.latest(YEAR)
        row = sets.add(
            ValueSet(
                year=YEAR,
                version=sets.next_version(YEAR),
                source=source,
                imported_at=uow.now(),
                imported_by=None,
            )
        )
        uow.flush()
        cells = values.matrix.tolist()
        rows = [
            {
                "value_set_id": row.id,
                "unit_id": units[code],
                "indicator": indicator,
                "value": None if value != value else value,
            }
            for code, line in zip(values.units, cells, strict=True)
            for indicator, value in zip(values.indicators, line, strict=True)
        ]
        for start in range(0, len(rows), 10_000):
            chunk = rows[start : start + 10_000]
            if uow.database.is_sqlite:
                uow.session.connection().execute(
                    insert(cast(Table, IndicatorValue.__table__)), chunk
                )
            else:
                sets.insert_values(
                    [(r["value_set_id"], r["unit_id"], r["indicator"], r["value"]) for r in chunk]
                )
        changed = len(rows)
        if previous is not None:
            before = {(u, i): v for u, i, v in sets.values(previous.id)}
            changed = sum(
                1 for r in rows if before.get((r["unit_id"], r["indicator"])) != r["value"]
            )
        uow.audit("bench", "values.import", "value_set", row.id, None, {"changed": changed})
        uow.commit()


def grades_in_one_transaction(uow: UnitOfWork, records: Sequence[GradeRecord]) -> None:
    """The grades import before: reads, rows (dicts), inserts and audit in one transaction."""
    with uow:
        plan_in_force(uow, YEAR)
        units = {r.code: r.id for r in uow.repository(YearUnits).rows()}
        uow.repository(YearUnits).lock(units[r.unit] for r in records)
        grades = uow.repository(Grades)
        current = grades.current_keys(YEAR)
        now = uow.now()
        new_rows: list[dict[str, Any]] = []
        replaced: list[int] = []
        for r in records:
            given = GRADE_OF[str(r.grade.value)]
            old = current.get((units[r.unit], r.item, r.period, r.rater))
            if old is not None and old[1] == given.value:
                continue
            if old is not None:
                replaced.append(old[0])
            new_rows.append(
                {
                    "year": YEAR,
                    "unit_id": units[r.unit],
                    "item": r.item,
                    "period": r.period,
                    "rater": r.rater,
                    "grade": given.value,
                    "recorded_at": now,
                    "recorded_by": None,
                    "replaced_at": None,
                }
            )
        grades.mark_replaced(replaced, now)
        for start in range(0, len(new_rows), 10_000):
            uow.session.execute(
                insert(cast(Table, GradeRow.__table__)), new_rows[start : start + 10_000]
            )
        uow.audit("bench", "grades.import", "grades", YEAR, None, {"rows": len(new_rows)})
        uow.commit()


# ---------------------------------------------------------------------------------------------
# The run


def run(db: Database, n_units: int) -> list[Run]:
    """Every import on one backend, before and after."""
    clock = FixedClock(datetime(2025, 4, 2, 1, 0, tzinfo=UTC))

    def uow() -> UnitOfWork:
        return UnitOfWork(db, clock)

    load_plan(uow(), OPERATOR, plan_text(INDICATORS), "bench.yaml")
    towns = [Unit(f"t{i:05d}", f"第{i:05d}镇", Group.TOWN) for i in range(n_units)]
    codes = tuple(u.code for u in towns)
    runs = [
        measure(
            db, clock, "units (after)", n_units, lambda: register_units(uow(), OPERATOR, towns)
        )
    ]
    rng = np.random.default_rng(1)
    matrix = np.round(rng.normal(10, 3, (n_units, INDICATORS)), 2)
    values = IndicatorValues(codes, tuple(f"ind{j:02d}" for j in range(INDICATORS)), matrix)
    cells = int(matrix.size)
    runs.append(
        measure(
            db, clock, "values v1 (before)", cells,
            lambda: values_in_one_transaction(uow(), values, "before.xlsx"),
        )
    )  # fmt: skip
    runs.append(
        measure(
            db, clock, "values v2 (after)*", cells,
            lambda: import_values(uow(), OPERATOR, YEAR, values, "after.xlsx"),
        )
    )  # fmt: skip
    periods = ("Q1", "Q2", "Q3", "Q4", "year")
    grades = [
        GradeRecord(code, "key_work", p, "财政局", Grade.GOOD)
        for code in codes[:GRADE_TOWNS]
        for p in periods
    ]
    runs.append(
        measure(
            db, clock, "grades (before)", len(grades),
            lambda: grades_in_one_transaction(uow(), grades),
        )
    )  # fmt: skip
    regraded = [GradeRecord(g.unit, g.item, g.period, "统计局", Grade.FAIR) for g in grades]
    runs.append(
        measure(
            db, clock, "grades (after)", len(regraded),
            lambda: import_grades(uow(), OPERATOR, YEAR, regraded, "grades.xlsx"),
        )
    )  # fmt: skip
    tasks = [TaskInput(code, "T1", "重点任务", work_item="key_work") for code in codes]
    runs.append(
        measure(
            db, clock, "tasks (after)", len(tasks),
            lambda: import_tasks(uow(), OPERATOR, YEAR, tasks),
        )
    )  # fmt: skip
    bonus = [BonusItem(code, "创新做法", True, "文件") for code in codes[: n_units // 2]]
    runs.append(
        measure(
            db, clock, "bonus (after)", len(bonus),
            lambda: import_bonus(uow(), OPERATOR, YEAR, bonus, "bonus.xlsx"),
        )
    )  # fmt: skip
    return runs


def report(backend: str, runs: list[Run]) -> None:
    """Print one backend's figures and the goals."""
    print(f"\n== {backend} ==")
    print(
        f"  {'import':<20} {'rows':>10} {'total s':>8} {'rows/s':>9} {'writes':>7} "
        f"{'longest s':>9} {'sum s':>7} {'probe max s':>11} {'failed':>6}"
    )
    for r in runs:
        print(
            f"  {r.name:<20} {r.rows:>10,} {r.seconds:>8.2f} {r.throughput:>9,.0f} "
            f"{len(r.writes):>7} {max(r.writes, default=0):>9.3f} {sum(r.writes):>7.2f} "
            f"{max(r.waits, default=0):>11.3f} {r.failures:>6}"
        )
    print("  * it also compares itself with v1, cell by cell, as every second import does")
    by_name = {r.name: r for r in runs}
    before, after = by_name["values v1 (before)"], by_name["values v2 (after)*"]
    checks = [
        (
            f"values: longest write transaction < {WRITE_GOAL} s",
            max(after.writes),
            max(after.writes) < WRITE_GOAL,
        ),
        (
            f"values: throughput >= {THROUGHPUT_GOAL:.0%} of before ({before.throughput:,.0f}/s)",
            after.throughput,
            after.throughput >= THROUGHPUT_GOAL * before.throughput,
        ),
    ]
    for r in runs:
        if "(after" in r.name and not r.name.startswith("values"):
            longest = max(r.writes)
            checks.append(
                (
                    f"{r.name}: its write transaction < {SINGLE_GOAL} s",
                    longest,
                    longest < SINGLE_GOAL,
                )
            )
    for r in runs:
        worst = max(r.waits, default=0.0)
        ok = worst < PROBE_GOAL and r.failures == 0
        checks.append((f"{r.name}: another writer waits < {PROBE_GOAL} s", worst, ok))
    for label, figure, ok in checks:
        expected_miss = "(before)" in label
        verdict = "PASS" if ok else ("MISSED (the baseline)" if expected_miss else "MISSED")
        print(f"  {verdict:<22} {label}: {figure:,.3f}")


def main() -> None:
    """Parse the arguments, run the chosen backends and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--units", type=int, default=40_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print(f"kaohe import benchmark: {args.units:,} towns x {INDICATORS} indicators, year {YEAR}")
    for backend in backends:
        opener = sqlite_database if backend == "sqlite" else postgres_database
        with opener() as db:
            report(backend, run(db, args.units))


if __name__ == "__main__":
    main()
