"""Benchmark: one broadcast to many recipients through the delivery engine.

`python -m bench.bench_broadcast [--recipients 2000 --limit 300]`: a fresh SQLite database with
the sample district and `--recipients` liaisons, one broadcast to all of them, the fake Bot API
server (in this process) with its global flood limit at `--limit` messages a second and one a
second per chat, and the delivery engine (bot.delivery, configured to the same limit) in a
process of its own, sending through python-telegram-bot over HTTP as in production. Prints the
achieved rate (first to last message arriving at the server) as a share of the limit (goal: at
least 95 %), the 429 answers received (goal: none), and duplicates and losses counted per chat
at the server (goal: none).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import build_application, make_deps
from bot.delivery import DeliveryEngine
from bot.fake_bot_api import FakeBotApi
from services.access import Actor, Role
from services.broadcasts import create_broadcast
from services.files.plan_file import default_plan_text
from services.people import register_units
from services.plans import load_plan
from services.sample_district import sample_units
from services.settings import Settings
from storage.clock import FixedClock
from storage.database import open_database
from storage.migrate import upgrade
from storage.models import Person
from storage.repositories.units import Units
from storage.unit_of_work import UnitOfWork

OPERATOR = Actor.operator("bench")
FIRST_CHAT = 500_000
START = datetime(2025, 3, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def seed(url: str, recipients: int, clock: FixedClock) -> int:
    """The sample district, `recipients` liaisons and one coordinator; the coordinator's id."""
    database = open_database(url)
    upgrade(database)
    load_plan(UnitOfWork(database, clock), OPERATOR, default_plan_text(2025), "default")
    register_units(UnitOfWork(database, clock), OPERATOR, sample_units())
    uow = UnitOfWork(database, clock)
    with uow:
        units = uow.repository(Units).all()
        now = uow.now()
        coordinator = Person(
            telegram_user_id=1, display_name="协调员", role="coordinator", created_at=now
        )
        uow.session.add(coordinator)
        uow.session.add_all(
            Person(
                telegram_user_id=FIRST_CHAT + i,
                display_name=f"联络员{i}",
                role="liaison",
                unit_id=units[i % len(units)].id,
                created_at=now,
            )
            for i in range(recipients)
        )
        uow.flush()
        coordinator_id = coordinator.id
        uow.commit()
    database.dispose()
    return coordinator_id


async def engine_child(url: str, base_url: str, limit: float, folder: str) -> int:
    """The bot's side, in a process of its own: run the engine until the broadcast is sent."""
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    clock = FixedClock(START)
    database = open_database(url)
    settings = Settings(data_dir=Path(folder), telegram_bot_token="123:TEST")  # type: ignore[arg-type]
    deps = make_deps(settings, database, clock)
    app = build_application(deps, "123:TEST", base_url=base_url, updater=False)
    await app.initialize()
    engine = DeliveryEngine(app.bot, deps, rate=limit, batch=200)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    sent = await engine.run_until_idle()
    cpu_run, wall_run = time.process_time() - cpu_start, time.perf_counter() - wall_start
    await app.shutdown()
    database.dispose()
    print(
        json.dumps(
            {
                "sent": sent,
                "retry_after": engine.stats.retry_after,
                "cpu": cpu_run,
                "wall": wall_run,
            }
        )
    )
    return 0


async def run(recipients: int, limit: float) -> int:
    """Run the benchmark and print its table; the exit status."""
    clock = FixedClock(START)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        coordinator_id = seed(url, recipients, clock)
        database = open_database(url)
        actor = Actor(coordinator_id, Role.COORDINATOR, None, "协调员")
        create_broadcast(
            UnitOfWork(database, clock), actor, "请于本周五前提交月度报告。", {"kind": "liaisons"}
        )
        database.dispose()
        async with FakeBotApi(rate_limit_per_second=limit, chat_rate_limit_per_second=1) as server:
            server.user(1, first_name="协调员")
            for chat in range(FIRST_CHAT, FIRST_CHAT + recipients):
                server.user(chat, first_name=f"联络员{chat - FIRST_CHAT}")
            started = time.perf_counter()
            cpu_before = time.process_time()
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.bench_broadcast",
                "--child",
                url,
                server.base_url,
                str(limit),
                folder,
                stdout=asyncio.subprocess.PIPE,
            )
            output, _ = await child.communicate()
            elapsed = time.perf_counter() - started
            if child.returncode != 0:
                print("the engine process failed", file=sys.stderr)
                return 1
            report = json.loads(output.decode().strip().splitlines()[-1])
            calls = [c for c in server.calls("sendMessage") if c.status == 200]
            per_chat = Counter(int(c.params["chat_id"]) for c in calls)
            times = sorted(c.time for c in calls)
            too_many = server.too_many_requests_sent
            server_cpu = time.process_time() - cpu_before
    sent = int(report["sent"])
    expected = set(range(FIRST_CHAT, FIRST_CHAT + recipients))
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    losses = len(expected - set(per_chat))
    # The rate over the sends themselves (first to last arrival at the server); the wall time
    # includes starting the engine's process.
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    send_rate = (len(times) - 1) / span if span else 0.0
    rows = [
        ("recipients", f"{recipients}"),
        ("configured limit (msg/s)", f"{limit:g}  (server and engine)"),
        ("delivered (engine) / received (server)", f"{sent} / {len(calls)}"),
        ("sending time (s)", f"{span:.2f}"),
        ("wall time incl. process start (s)", f"{elapsed:.2f}"),
        ("achieved rate (msg/s)", f"{send_rate:.1f}"),
        ("share of the limit", f"{send_rate / limit:.1%}  (goal >= 95 %)"),
        ("engine run: wall / CPU (s)", f"{report['wall']:.2f} / {report['cpu']:.2f}"),
        ("rate over the engine's whole run", f"{sent / report['wall']:.1f} msg/s"),
        ("fake server CPU (s)", f"{server_cpu:.2f}"),
        ("429 answers received", f"{too_many}  (goal 0)"),
        ("duplicates", f"{duplicates}  (goal 0)"),
        ("losses", f"{losses}  (goal 0)"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 28}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--limit", type=float, default=300.0)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, base_url, limit, folder = args.child
        raise SystemExit(asyncio.run(engine_child(url, base_url, float(limit), folder)))
    raise SystemExit(asyncio.run(run(args.recipients, args.limit)))


if __name__ == "__main__":
    main()
