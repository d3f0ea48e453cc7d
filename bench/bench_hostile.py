"""Hostile workbooks: the bot's memory while refusing them, and what guarding normal files costs.

    python -m bench.bench_hostile [--towns 40000] [--indicators 60]

Each phase runs in a fresh interpreter (this module with `--phase`), so that its peak resident
memory (VmHWM of /proc/self/status: ru_maxrss would include the parent's pages) is its own:

- bot refuses X: the real Application against the fake Bot API (tests/bot/world.py, both in
  this one process, so the figure is an upper bound of the bot's), a coordinator sends the
  hostile workbook X as a document; the time to the refusal and the process's peak memory.
  Goal: under 300 MB. The children that parse are separate processes and not counted.
- unguarded X: the reader's own work (`reader._read_values`) in this process, as every read was
  before the checks and the child process: what the refusal replaced (an abort shows as the
  signal that ended the phase).
- normal files: a small values workbook and the large one (`--towns` x `--indicators`), read
  in this process (unguarded) and through `read_values` (checked, parsed in a child); the small
  one 20 times, median. And the cost of a fresh interpreter importing the readers, which a
  spawn per file would pay on every read instead of the zygote's fork.

Not a CI test: it prints its figures and exits 0 whatever they are. On a shared machine the
times are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOAL_MB = 300
HOSTILE = ("huge_dimension", "whitespace_bomb", "far_cells", "strings_count_bomb")


def peak_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def build(name: str, folder: Path) -> Path:
    """Write the hostile workbook `name` (tests/fixtures_hostile.py) into `folder`."""
    from tests import fixtures_hostile

    return getattr(fixtures_hostile, name)(folder / f"{name}.xlsx")  # type: ignore[no-any-return]


def phase_bot(name: str, folder: Path) -> dict[str, Any]:
    """A coordinator sends the hostile file to the bot; time to the refusal, peak memory."""
    from services.access import Role
    from storage.database import open_database
    from storage.migrate import upgrade
    from tests.bot.world import bot_world

    content = build(name, folder).read_bytes()
    template = folder / "template.db"
    database = open_database(f"sqlite:///{template}")
    upgrade(database)
    database.dispose()

    async def run() -> dict[str, Any]:
        async with bot_world(template, folder) as world:
            user = await world.join(7001, Role.COORDINATOR, None, "王科长")
            before = peak_mb()
            started = time.perf_counter()
            user.send_document(content, "指标值.xlsx", "application/vnd.ms-excel")
            await world.step()
            seconds = time.perf_counter() - started
            answer = " ".join(world.texts(user)[-2:])
            return {
                "seconds": seconds,
                "baseline_mb": before,
                "peak_mb": peak_mb(),
                "answer": answer[:160],
                "file_kb": len(content) / 1024,
            }

    return asyncio.run(run())


def phase_unguarded(name: str, folder: Path) -> dict[str, Any]:
    """The reader's own work on the hostile file in this process (what was done before)."""
    from scoring import InputError
    from services.files import reader
    from tests.fixtures_workbooks import UNITS, default_plan

    path = build(name, folder)
    plan = default_plan()
    before = peak_mb()
    started = time.perf_counter()
    outcome = "read"
    try:
        reader._read_values(path, plan, UNITS)
    except InputError as exc:
        outcome = f"refused: {exc.problems[0].code}"
    return {
        "seconds": time.perf_counter() - started,
        "baseline_mb": before,
        "peak_mb": peak_mb(),
        "answer": outcome,
    }


def phase_normal(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Small and large values workbooks, unguarded and guarded."""
    import numpy as np

    from bench.bench_engine import synthetic_year
    from bench.bench_workbooks import make_plan
    from scoring import Group
    from services.files import reader
    from services.files.isolation import start_readers
    from tests.fixtures_workbooks import (
        TOWNS,
        big_values_workbook,
        default_plan,
        write_sheet,
    )

    start_readers()
    small = write_sheet(folder / "small.xlsx", "values", [["unit", "gdp_growth"], ["dianzi", 7.5]])
    plan = default_plan()
    reader.read_values(small, plan, TOWNS)  # the zygote is up and warm

    def median_of(read: Any) -> float:
        times = []
        for _ in range(20):
            started = time.perf_counter()
            read(small, plan, TOWNS)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    figures: dict[str, Any] = {
        "small_unguarded": median_of(reader._read_values),
        "small_guarded": median_of(reader.read_values),
    }
    big_plan = make_plan(args.indicators)
    year = synthetic_year(big_plan, args.towns, 0, np.random.default_rng(1))
    towns = [u for u in year["units"] if u.group is Group.TOWN]
    big = big_values_workbook(folder / "big.xlsx", big_plan, towns)
    figures["big_mb"] = big.stat().st_size / 1024**2
    for label, read in (
        ("big_guarded", reader.read_values),
        ("big_unguarded", reader._read_values),
    ):
        started = time.perf_counter()
        read(big, big_plan, towns)
        figures[label] = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import services.files.reader, services.files.task_reader"],
        cwd=ROOT,
        check=True,
    )
    figures["spawn_import"] = time.perf_counter() - started
    figures["peak_mb"] = peak_mb()
    return figures


def run_phase(phase: str, extra: list[str]) -> dict[str, Any] | str:
    """Run one phase in a fresh interpreter; its figures, or how it ended if it died."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.bench_hostile", "--phase", phase, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return f"ended with status {result.returncode}: {result.stderr.strip().splitlines()[-1:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--towns", type=int, default=40_000)
    parser.add_argument("--indicators", type=int, default=60)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    extra = ["--towns", str(args.towns), "--indicators", str(args.indicators)]
    if args.phase:
        with tempfile.TemporaryDirectory(prefix="kaohe-bench-") as folder:
            kind, _, name = args.phase.partition(":")
            if kind == "bot":
                figures = phase_bot(name, Path(folder))
            elif kind == "unguarded":
                figures = phase_unguarded(name, Path(folder))
            else:
                figures = phase_normal(args, Path(folder))
        print(json.dumps(figures, ensure_ascii=False))
        return
    print(f"Goal: the bot's peak memory while refusing a hostile workbook under {GOAL_MB} MB.\n")
    for name in HOSTILE:
        bot = run_phase(f"bot:{name}", extra)
        if isinstance(bot, str):
            print(f"bot refuses {name}: {bot}")
        else:
            verdict = "ok" if bot["peak_mb"] < GOAL_MB else "OVER"
            print(
                f"bot refuses {name} ({bot['file_kb']:.0f} KB): {bot['seconds']:.2f} s, "
                f"peak {bot['peak_mb']:.0f} MB (before sending {bot['baseline_mb']:.0f}) "
                f"[{verdict}]\n    {bot['answer']}"
            )
        before = run_phase(f"unguarded:{name}", extra)
        if isinstance(before, str):
            print(f"  unguarded, as before: {before}")
        else:
            print(
                f"  unguarded, as before: {before['answer']} after {before['seconds']:.1f} s, "
                f"peak {before['peak_mb']:.0f} MB"
            )
    normal = run_phase("normal", extra)
    if isinstance(normal, str):
        print(f"normal files: {normal}")
        return
    print(
        f"\nnormal files (median of 20 for the small one):\n"
        f"  small values workbook: {normal['small_unguarded'] * 1000:.0f} ms in process, "
        f"{normal['small_guarded'] * 1000:.0f} ms checked and parsed in a child\n"
        f"  {args.towns} x {args.indicators} values ({normal['big_mb']:.0f} MB): "
        f"{normal['big_unguarded']:.1f} s in process, {normal['big_guarded']:.1f} s guarded\n"
        f"  a fresh interpreter importing the readers (a spawn per file): "
        f"{normal['spawn_import']:.2f} s"
    )


if __name__ == "__main__":
    main()
