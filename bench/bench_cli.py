"""Command-line start-up benchmark: `kaohe --help` and `kaohe score` against `python -c pass`.

    python -m bench.bench_cli [--runs 7]

Each command runs `--runs` times in a fresh interpreter, interleaved with a bare
`python -c pass` (the floor: the interpreter's own start), on a shared machine where only
figures of the same run compare. Printed per command: best and median wall time, the best net of
the interpreter's start, peak memory, and the goal (issue 12, goal 5): `kaohe --help` under
0.3 s and `kaohe score` on the 7-unit sample district under 0.8 s, PASS or MISSED on the best
run (the one least slowed by the other work on the machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KAOHE = [sys.executable, "-c", "import sys; from cli.app import main; sys.exit(main())"]


@dataclass
class Timing:
    """Wall times (s) and peak resident memory (MB) of one command's runs."""

    name: str
    args: list[str]
    goal: float | None
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)


def run_once(args: list[str]) -> tuple[float, float]:
    """Wall time and peak memory of one run of `args` (output thrown away)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env()
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{args} failed ({process.returncode}):\n{errors}")
    return elapsed, usage.ru_maxrss / 1024


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    # As installed: the modules' bytecode is cached (by the warm-up round), not compiled anew.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["COLUMNS"] = "100"
    return env


def sample_district(folder: Path) -> list[str]:
    """Write the bundled sample district (`kaohe sample`, in a child: this process stays small,
    as the children's peak memory starts from it) and the `kaohe score` arguments for it."""
    run_once([*KAOHE, "sample", "-o", str(folder)])
    return [
        "score",
        "--plan", str(folder / "plan-2025.yaml"),
        "--units", str(folder / "units.xlsx"),
        "--values", str(folder / "values.xlsx"),
        "--grades", str(folder / "grades.xlsx"),
        "--bonus", str(folder / "bonus.xlsx"),
        "--events", str(folder / "events.xlsx"),
    ]  # fmt: skip


def measure(timings: list[Timing], runs: int) -> None:
    """Run every command `runs` times, round-robin (a warm-up round first, not kept)."""
    for round_ in range(runs + 1):
        for timing in timings:
            seconds, peak = run_once(timing.args)
            if round_:
                timing.seconds.append(seconds)
                timing.peak_mb.append(peak)


def report(timings: list[Timing]) -> None:
    """Print the figures and the goals."""
    floor = min(timings[0].seconds)
    print(f"{'command':<22} {'best':>8} {'median':>8} {'net':>8} {'peak MB':>8}  goal")
    for t in timings:
        best, median = min(t.seconds), statistics.median(t.seconds)
        verdict = ""
        if t.goal is not None:
            ok = "PASS" if best < t.goal else "MISSED"
            verdict = f"goal 5: < {t.goal:.1f} s: {best:.3f} s ({best / t.goal:.2f} of it) {ok}"
        print(
            f"{t.name:<22} {best:8.3f} {median:8.3f} {best - floor:8.3f} "
            f"{max(t.peak_mb):8.0f}  {verdict}"
        )
    print(f"(net: best minus the bare interpreter's best, {floor:.3f} s, in the same run)")


def main() -> None:
    """Parse the arguments, time the commands and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kaohe-bench-cli-") as folder:
        score = sample_district(Path(folder))
        timings = [
            Timing("python -c pass", [sys.executable, "-c", "pass"], None),
            Timing("kaohe --help", [*KAOHE, "--help"], 0.3),
            Timing("kaohe score (sample)", [*KAOHE, *score], 0.8),
        ]
        measure(timings, args.runs)
    print(f"kaohe command-line start-up, {args.runs} runs each (load: {os.getloadavg()[0]:.1f})")
    report(timings)


if __name__ == "__main__":
    main()
