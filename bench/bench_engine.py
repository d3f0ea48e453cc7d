"""Speed of the scoring engine on a synthetic year: `python -m bench.bench_engine [--units N]`.

(a) efficacy scoring of a (towns x 60 indicators) matrix: the engine against the pure-Python
    reference (goal: at least 30x faster) and against a bare numpy min/max/scale pass over the same
    matrix, the floor of what numpy can do (goal: the engine within 3x of it);
(b) the whole `scoring.score`, grades included, for information.

Not a CI test: it prints its figures and exits 0 whatever they are.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import yaml

from bench.reference import reference_efficacy
from scoring import (
    BonusItem,
    EventCount,
    EventKind,
    Grade,
    GradeRecord,
    Group,
    IndicatorValues,
    Plan,
    Unit,
    parse_plan,
    score,
)
from scoring.efficacy import efficacy_scores
from scoring.plan import PERIODS
from services.files.plan_file import default_plan_text

N_INDICATORS = 60
RATERS = 5
GOAL_VS_REFERENCE = 30.0
GOAL_VS_NUMPY = 3.0


def bench_plan() -> Plan:
    """The default plan with 60 indicators of 10 points (600): every 10th lower, 4 with bounds."""
    indicators: list[dict[str, Any]] = []
    for k in range(N_INDICATORS):
        ind: dict[str, Any] = {
            "code": f"ind{k:02d}",
            "name": f"指标{k:02d}",
            "points": 10,
            "direction": "lower" if k % 10 == 9 else "higher",
        }
        if k in (5, 25):  # higher with bounds, clamped and not
            ind["bounds"] = {"satisfactory": 12.0, "unacceptable": 6.0}
            ind["clamp"] = k == 5
        if k in (19, 39):  # lower with bounds
            ind["bounds"] = {"satisfactory": 0.4, "unacceptable": 0.9}
            ind["clamp"] = k == 19
        indicators.append(ind)
    data = yaml.safe_load(default_plan_text(2025))
    data["development"]["categories"] = [
        {
            "code": f"cat{c}",
            "name": f"类别{c}",
            "points": 150,
            "indicators": indicators[c * 15 : (c + 1) * 15],
        }
        for c in range(4)
    ]
    return parse_plan(data)


def synthetic_values(plan: Plan, n_units: int, rng: np.random.Generator) -> np.ndarray:
    """A (units x indicators) matrix around each indicator's own scale, 2 % missing."""
    inds = plan.development.indicators
    centre = np.array(
        [
            9.0
            if ind.bounds and ind.bounds.satisfactory > 1
            else 0.65
            if ind.bounds
            else 5.0 * (k + 1)
            for k, ind in enumerate(inds)
        ]
    )
    spread = np.abs(centre) * 0.4 + 0.1
    x = rng.normal(centre, spread, size=(n_units, len(inds)))
    x[rng.random(x.shape) < 0.02] = np.nan
    return x


def synthetic_year(
    plan: Plan, n_towns: int, n_departments: int, rng: np.random.Generator
) -> dict[str, Any]:
    """Units, values, grades (5 raters x Q1..Q4 + year x items), bonus and events."""
    towns = [Unit(f"t{i:06d}", f"镇{i}", Group.TOWN) for i in range(n_towns)]
    departments = [
        Unit(f"d{i:04d}", f"局{i}", Group.ZONE_OR_DEPARTMENT) for i in range(n_departments)
    ]
    units = towns + departments
    x = synthetic_values(plan, n_towns, rng)
    values = IndicatorValues(
        tuple(u.code for u in towns), tuple(i.code for i in plan.development.indicators), x
    )
    grade_list = list(Grade)
    picks = rng.choice(len(grade_list), size=len(units) * len(plan.work.items) * 5 * RATERS)
    raters = [f"r{r}" for r in range(RATERS)]
    grades: list[GradeRecord] = []
    n = 0
    for unit in units:
        for item in plan.work.items:
            for period in PERIODS:
                for rater in raters:
                    grades.append(
                        GradeRecord(unit.code, item.code, period, rater, grade_list[picks[n]])
                    )
                    n += 1
    bonus = [BonusItem(u.code, f"创新{j}", bool(j % 3)) for u in units[::7] for j in range(4)]
    events = [EventCount(u.code, EventKind.REPORT_LATE, 2) for u in units[::5]]
    return {"units": units, "values": values, "grades": grades, "bonus": bonus, "events": events}


def best_of(repeats: int, run: Callable[[], object]) -> float:
    """The best wall time of `repeats` runs, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def best_of_interleaved(repeats: int, *runs: Callable[[], object]) -> list[float]:
    """The best wall time of each run, taking turns so that machine noise hits them alike."""
    best = [float("inf")] * len(runs)
    for _ in range(repeats):
        for k, run in enumerate(runs):
            start = time.perf_counter()
            run()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


def bare_numpy(x: np.ndarray, weights: np.ndarray, b: float) -> np.ndarray:
    """The floor: column min and max ignoring NaN, scale to [0, 1], weight."""
    low = np.fmin.reduce(x, axis=0)
    high = np.fmax.reduce(x, axis=0)
    r = (x - low) / (high - low)
    points: np.ndarray = weights * (b + (1.0 - b) * r)
    return points


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=40_000, help="towns (default 40000)")
    parser.add_argument("--departments", type=int, default=300, help="departments (default 300)")
    parser.add_argument("--repeats", type=int, default=15, help="repeats of the fast runs")
    parser.add_argument("--reference-repeats", type=int, default=2, help="repeats of reference")
    parser.add_argument("--score-repeats", type=int, default=3, help="repeats of scoring.score")
    parser.add_argument("--profile", action="store_true", help="profile one scoring.score run")
    parser.add_argument("--seed", type=int, default=2019)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    plan = bench_plan()
    dev = plan.development
    inds = dev.indicators
    weights = np.array([ind.points for ind in inds])
    build_start = time.perf_counter()
    year = synthetic_year(plan, args.units, args.departments, rng)
    build = time.perf_counter() - build_start
    x = year["values"].matrix
    rows = x.tolist()
    cells = x.size

    def engine() -> object:
        return efficacy_scores(x, inds, dev.base_share, dev.when_all_equal, dev.missing_value)

    def reference() -> object:
        return reference_efficacy(
            rows, inds, dev.base_share, dev.when_all_equal, dev.missing_value
        )

    def numpy_floor() -> object:
        return bare_numpy(x, weights, dev.base_share)

    # Agreement first: a fast engine that is wrong is worth nothing.
    got = efficacy_scores(x, inds, dev.base_share, dev.when_all_equal, dev.missing_value)
    want = reference_efficacy(rows, inds, dev.base_share, dev.when_all_equal, dev.missing_value)
    max_diff = float(np.max(np.abs(got.points - np.array(want.points))))

    t_engine, t_numpy = best_of_interleaved(args.repeats, engine, numpy_floor)
    t_reference = best_of(args.reference_repeats, reference)

    def whole() -> object:
        return score(
            plan, year["units"], year["values"], year["grades"], year["bonus"], year["events"]
        )

    t_score = best_of(args.score_repeats, whole)

    vs_reference = t_reference / t_engine
    vs_numpy = t_engine / t_numpy
    n_units = len(year["units"])
    print(
        f"synthetic year: {args.units} towns + {args.departments} departments, "
        f"{len(inds)} indicators ({cells:,} cells, {int(np.isnan(x).sum()):,} missing), "
        f"{len(year['grades']):,} grades; built in {build:.2f} s"
    )
    print(f"engine vs reference: max |points difference| = {max_diff:.3g}")
    print()
    print(f"{'(a) efficacy scoring':<38}{'best s':>10}{'ns/cell':>10}{'runs':>6}")
    for label, t, runs in (
        ("engine  scoring.efficacy", t_engine, args.repeats),
        ("bare numpy min/max/scale (floor)", t_numpy, args.repeats),
        ("reference, pure Python", t_reference, args.reference_repeats),
    ):
        print(f"  {label:<36}{t:>10.4f}{t / cells * 1e9:>10.1f}{runs:>6}")
    print()
    print(f"{'ratio':<38}{'value':>10}{'goal':>10}{'':>6}")
    print(
        f"  {'reference / engine':<36}{vs_reference:>9.1f}x{'>= 30x':>10}"
        f"{verdict(vs_reference >= GOAL_VS_REFERENCE):>6}"
    )
    print(
        f"  {'engine / bare numpy':<36}{vs_numpy:>9.2f}x{'<= 3x':>10}"
        f"{verdict(vs_numpy <= GOAL_VS_NUMPY):>6}"
    )
    print()
    print(
        f"(b) scoring.score, whole year ({n_units:,} units): best {t_score:.3f} s of "
        f"{args.score_repeats} (efficacy is {t_engine / t_score:.1%} of it)"
    )

    if args.profile:
        print()
        profiler = cProfile.Profile()
        profiler.runcall(whole)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
