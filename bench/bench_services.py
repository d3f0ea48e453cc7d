"""Service benchmark: the calls one monthly /report makes, timed one by one in one thread.

    python -m bench.bench_services [--liaisons 60] [--tasks 3] [--warmup 5]
        [--database sqlite|postgresql] [--profile CALL]

Seeds a database as bench/bench_bot.py does (`seed_kaohe`: this year's and last year's plans,
one town per liaison with `--tasks` tasks, the liaisons), then walks each liaison through the
service calls of a complete report in the order the bot makes them (bot/dialogs/report.py and
the dialog engine): the gate's `admit` before every update, `open_report` on a read-only unit
of work, `start_dialog` with the draft the dialog builds, `save_dialog` at every step, a photo
registered with `register_evidence` (a small PNG, new for each liaison), `dialog_of_kind` (the
draft read again after the upload), `submit_report` with the entries and files a /report sends,
and `end_dialog`. The first `--warmup` liaisons are not counted (statement caches warm up).

Printed: one line per call with its count and the CPU time (time.process_time) and wall time
per call in microseconds. SQLite is a file in a temporary folder; PostgreSQL
(`--database postgresql`, KAOHE_TEST_POSTGRES_URL, default 127.0.0.1:5432 user postgres) is a
database `kaohe_bench_services` created afresh and dropped afterwards. The ratio between calls
of one run is what counts: the machine is shared and noisy.

`--profile CALL` runs the walk again under pyinstrument and prints the profile of that call.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from bench.bench_bot import FIRST_USER_ID, fresh_postgres_database, png, seed_kaohe

BENCH_DATABASE = "kaohe_bench_services"
CALLS = (
    "admit",
    "open_report",
    "start_dialog",
    "save_dialog",
    "register_evidence",
    "dialog_of_kind",
    "submit_report",
    "end_dialog",
)
T = TypeVar("T")


@contextlib.contextmanager
def bench_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database: an SQLite file in `folder`, or a PostgreSQL database of
    its own, created afresh and dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'kaohe.db'}"
        return
    with fresh_postgres_database(BENCH_DATABASE) as url:
        yield url


class Timer:
    """CPU and wall time per call name, counted only when `counting`."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)
        self.counting = False
        self.profiled: str | None = None
        self.profiler: Any = None

    def __call__(self, name: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `function(*args, **kwargs)`, timed under `name`."""
        profiling = self.profiler is not None and self.profiled == name and self.counting
        if profiling:
            self.profiler.start()
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if profiling:
                self.profiler.stop()
            if self.counting:
                self.cpu[name] += cpu
                self.wall[name] += wall
                self.count[name] += 1


def _entry(status: str, figure: str = "", note: str = "", files: Any = None) -> dict[str, Any]:
    # As bot.dialogs.report._entry shapes a task's entry in the draft.
    return {"status": status, "figure": figure, "note": note, "files": files or []}


def walk(url: str, liaisons: int, warmup: int, timer: Timer) -> None:
    """Every liaison's report, call by call, as the bot makes the calls."""
    from services import dialogs as dialog_service
    from services.evidence import register_evidence
    from services.people import admit
    from services.reports import ReportEntryInput, open_report, submit_report
    from storage.archive import EvidenceArchive
    from storage.clock import SystemClock
    from storage.database import open_database
    from storage.unit_of_work import UnitOfWork

    database = open_database(url)
    clock = SystemClock()
    folder = Path(tempfile.mkdtemp(prefix="kaohe-bench-archive-"))
    archive = EvidenceArchive(folder)

    def uow() -> UnitOfWork:
        return UnitOfWork(database, clock)

    def read_uow() -> UnitOfWork:
        return UnitOfWork(database, clock, read_only=True)

    def report(n: int) -> None:
        user_id = FIRST_USER_ID + n

        def gate() -> Any:
            admission = timer("admit", admit, read_uow(), user_id)
            assert admission.session is not None
            return admission.session

        session = gate()
        actor = session.actor
        person_id = actor.person_id
        unit_id = actor.unit_id
        opening = timer(
            "open_report", open_report, read_uow(), actor, unit_id, "Asia/Shanghai", None
        )
        tasks = opening.tasks
        data: dict[str, Any] = {
            "year": opening.year,
            "month": opening.month,
            "tz": opening.plan.timezone,
            "due_date": opening.due_on.isoformat(),
            "due_at": opening.due_at.isoformat(),
            "overdue": opening.overdue,
            "costs": {"late_item": "late", "late_points": 1.0},
            "other": list(opening.other) if opening.other is not None else None,
            "tasks": [
                {
                    "id": t.id,
                    "code": t.code,
                    "title": t.title,
                    "target": t.target,
                    "due": t.due_date.isoformat() if t.due_date else None,
                }
                for t in tasks
            ],
            "entries": {},
            "last": {},
            "last_month": None,
            "existing": None,
            "kept": [],
            "i": 0,
            "mode": "seq",
        }
        timer(
            "start_dialog", dialog_service.start_dialog, uow(), person_id, "report", "intro", data
        )

        def save(step: str) -> None:
            gate()
            timer(
                "save_dialog", dialog_service.save_dialog, uow(), person_id, "report", step, data
            )

        save("status")  # "fill in"
        for i, task in enumerate(tasks):
            data["cur"] = {"status": "on_track"}
            save("figure")  # a status tapped
            data["cur"]["figure"] = "60%"
            save("note")  # the figure typed
            data["cur"]["note"] = f"第 {i + 1} 项本月按计划推进，已完成过半。"
            save("files")  # the note typed
            files: list[dict[str, Any]] = []
            if i == 0:
                gate()
                view = timer(
                    "register_evidence",
                    register_evidence,
                    uow(),
                    actor,
                    "photo",
                    f"file-{n}",
                    f"unique-{n}",
                    None,
                    "image/png",
                    None,
                    png(n),
                    archive,
                )
                timer(
                    "dialog_of_kind",
                    dialog_service.dialog_of_kind,
                    read_uow(),
                    person_id,
                    "report",
                )
                files = [{"id": view.id, "kind": view.kind, "name": ""}]
                data["files"] = files
                save("files")  # the status message of the files
            data["entries"][str(task.id)] = _entry("on_track", "60%", data["cur"]["note"], files)
            data.pop("files", None)
            save("status" if i + 1 < len(tasks) else "summary")  # Done / Skip
        gate()  # Confirm
        entries = [
            ReportEntryInput(t.id, e["status"], e["figure"], e["note"])
            for t in tasks
            for e in [data["entries"][str(t.id)]]
        ]
        task_files = {t.id: [f["id"] for f in data["entries"][str(t.id)]["files"]] for t in tasks}
        timer(
            "submit_report",
            submit_report,
            uow(),
            actor,
            unit_id,
            data["year"],
            data["month"],
            entries,
            [],
            {k: v for k, v in task_files.items() if v},
        )
        timer("end_dialog", dialog_service.end_dialog, uow(), person_id, "report")

    try:
        for n in range(liaisons):
            timer.counting = n >= warmup
            report(n)
    finally:
        database.dispose()
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_dir():
                path.rmdir()
            else:
                path.chmod(0o644)
                path.unlink()
        folder.rmdir()


def main(argv: list[str] | None = None) -> None:
    """Seed, walk, print one line per call."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--liaisons", type=int, default=60)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--profile", choices=CALLS, default=None)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="kaohe-bench-services-") as folder,
        bench_database(args.database, Path(folder)) as url,
    ):
        seed_kaohe(url, args.liaisons, args.tasks)
        timer = Timer()
        if args.profile:
            from pyinstrument import Profiler

            timer.profiled = args.profile
            timer.profiler = Profiler(interval=0.0002)
        walk(url, args.liaisons, args.warmup, timer)
    print(f"{args.database}: {args.liaisons - args.warmup} liaisons, {args.tasks} tasks each")
    print(f"{'call':<18} {'calls':>6} {'cpu us/call':>12} {'wall us/call':>13}")
    for name in CALLS:
        count = timer.count[name]
        if count:
            cpu = timer.cpu[name] / count * 1e6
            wall = timer.wall[name] / count * 1e6
            print(f"{name:<18} {count:>6} {cpu:>12.0f} {wall:>13.0f}")
    if timer.profiler is not None:
        print(timer.profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
