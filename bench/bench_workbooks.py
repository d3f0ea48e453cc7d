"""Speed and memory of the workbooks at district scale: `python -m bench.bench_workbooks`.

    python -m bench.bench_workbooks [--towns 40000] [--indicators 60] [--departments 300]

Issue #2, part 2. Reading: `services.files.reader.read_values` (python-calamine, with every check)
of a values workbook of `--towns` rows x `--indicators` columns, against a bare openpyxl
read-only pass over the same file that only iterates its cell values. Writing:
`services.files.report.write_report` (XlsxWriter, data rows as direct sheet XML) of the scored
year, against a bare openpyxl write-only workbook of the same data cells (rankings, indicator
value and points, work item rows; no formats). Goal of ours: each under 10 s, peak memory
under 1.5 GiB.

Each phase runs in a fresh interpreter (this module with `--phase`), so that its peak RSS
(`getrusage(RUSAGE_SELF).ru_maxrss`) is its own and not inherited from an earlier phase. An
openpyxl comparison first runs on the first 10,000 towns; if that predicts more than 60 s for
the full size it is extrapolated linearly instead of run, and the table says so.

Not a CI test: it prints its figures and exits 0 whatever they are.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl

from bench.bench_engine import N_INDICATORS, bench_plan, synthetic_year, verdict
from scoring import Group, Plan, Unit, score
from scoring.standings import Standings
from services.files.reader import read_values
from services.files.report import FLAG_KEYS, write_report
from tests.fixtures_workbooks import big_values_workbook, plan_with_indicators

GOAL_SECONDS = 10.0
GOAL_MIB = 1.5 * 1024
SUBSET = 10_000  # towns of a trial run of an openpyxl comparison
EXTRAPOLATE_OVER = 60.0  # seconds: a comparison predicted slower than this is not run in full
CHUNK = 1000  # rows turned into cells at a time by the openpyxl writer, as the report does
ROOT = Path(__file__).resolve().parents[1]
NOTE_WIDTH = 92

VALUES = "values.xlsx"
INPUTS = "inputs.pickle"
STANDINGS = "standings.pickle"


@dataclass
class Measure:
    """What one phase measured in its own process."""

    seconds: float
    peak_mib: float
    baseline_mib: float  # peak RSS before the timed work: interpreter, imports and inputs
    rows: int  # data rows read, or units written
    cells: int = 0  # numbers read, or cells written
    size: int = 0  # bytes of the file written
    extra: dict[str, float] = field(default_factory=dict)


def peak_mib() -> float:
    """This process's peak resident set size so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def make_plan(indicators: int) -> Plan:
    """bench_engine's plan at 60 indicators; otherwise `indicators` equal ones summing to 600."""
    if indicators == N_INDICATORS:
        return bench_plan()
    return plan_with_indicators(indicators)


def load(path: Path) -> Any:
    """Unpickle one of the prepared inputs."""
    with path.open("rb") as fh:
        return pickle.load(fh)


# Phases, each in its own process --------------------------------------------------------------


def prepare(args: argparse.Namespace, workdir: Path) -> Measure:
    """Build the synthetic year, write the values workbook, score the year; pickle the inputs."""
    plan = make_plan(args.indicators)
    start = time.perf_counter()
    year = synthetic_year(plan, args.towns, args.departments, np.random.default_rng(args.seed))
    built = time.perf_counter() - start
    units: list[Unit] = year["units"]
    towns = [u for u in units if u.group is Group.TOWN]
    start = time.perf_counter()
    big_values_workbook(workdir / VALUES, plan, towns, seed=args.seed)
    written = time.perf_counter() - start
    start = time.perf_counter()
    standings = score(plan, units, year["values"], year["grades"], year["bonus"], year["events"])
    scored = time.perf_counter() - start
    with (workdir / INPUTS).open("wb") as fh:
        pickle.dump({"plan": plan, "units": units}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    with (workdir / STANDINGS).open("wb") as fh:
        pickle.dump(standings, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return Measure(
        seconds=written,
        peak_mib=peak_mib(),
        baseline_mib=0.0,
        rows=len(towns),
        size=(workdir / VALUES).stat().st_size,
        extra={"built": built, "scored": scored, "grades": float(len(year["grades"]))},
    )


def read_calamine(args: argparse.Namespace, workdir: Path) -> Measure:
    """Time `read_values` of the whole values workbook, every check included."""
    inputs = load(workdir / INPUTS)
    baseline = peak_mib()
    start = time.perf_counter()
    values = read_values(workdir / VALUES, inputs["plan"], inputs["units"])
    seconds = time.perf_counter() - start
    return Measure(
        seconds=seconds,
        peak_mib=peak_mib(),
        baseline_mib=baseline,
        rows=len(values.units),
        cells=int(np.count_nonzero(~np.isnan(values.matrix))),
    )


def read_openpyxl(args: argparse.Namespace, workdir: Path) -> Measure:
    """Time a bare openpyxl read-only pass over the cell values (first `--limit` rows if set)."""
    baseline = peak_mib()
    start = time.perf_counter()
    book = openpyxl.load_workbook(workdir / VALUES, read_only=True, data_only=True)
    sheet = book["values"]
    rows = numbers = 0
    last = args.limit + 1 if args.limit else None  # the header is row 1
    for row in sheet.iter_rows(min_row=2, max_row=last, values_only=True):
        rows += 1
        for value in row:
            if isinstance(value, float | int):
                numbers += 1
    book.close()
    seconds = time.perf_counter() - start
    return Measure(
        seconds=seconds, peak_mib=peak_mib(), baseline_mib=baseline, rows=rows, cells=numbers
    )


def write_xlsxwriter(args: argparse.Namespace, workdir: Path) -> Measure:
    """Time `write_report` of the scored year."""
    standings: Standings = load(workdir / STANDINGS)
    target = workdir / "report.xlsx"
    baseline = peak_mib()
    start = time.perf_counter()
    write_report(standings, target)
    seconds = time.perf_counter() - start
    return Measure(
        seconds=seconds,
        peak_mib=peak_mib(),
        baseline_mib=baseline,
        rows=len(standings.units),
        size=target.stat().st_size,
    )


def write_openpyxl(args: argparse.Namespace, workdir: Path) -> Measure:
    """Time the bare openpyxl write-only workbook of the report's data cells."""
    standings: Standings = load(workdir / STANDINGS)
    target = workdir / f"openpyxl-{args.limit}.xlsx"
    baseline = peak_mib()
    start = time.perf_counter()
    units, cells = openpyxl_report(standings, target, args.limit)
    seconds = time.perf_counter() - start
    return Measure(
        seconds=seconds,
        peak_mib=peak_mib(),
        baseline_mib=baseline,
        rows=units,
        cells=cells,
        size=target.stat().st_size,
    )


PHASES = {
    "prepare": prepare,
    "read-calamine": read_calamine,
    "read-openpyxl": read_openpyxl,
    "write-xlsxwriter": write_xlsxwriter,
    "write-openpyxl": write_openpyxl,
}


# The openpyxl comparison writer ---------------------------------------------------------------


def _cells(numbers: np.ndarray) -> list[Any]:
    """Numbers as nested lists of Python floats, None where NaN (openpyxl would write "nan")."""
    out = numbers.astype(object)
    out[np.isnan(numbers)] = None
    cells: list[Any] = out.tolist()
    return cells


def ranked(s: Standings, group: Group, limit: int) -> np.ndarray:
    """The rows of one group in rank order, as the report lists them; towns cut to `limit`."""
    mask = np.array([u.group is group for u in s.units], dtype=bool)
    rows = np.flatnonzero(mask)
    rows = rows[np.lexsort((rows, s.ranks[rows]))]
    return rows[:limit] if limit and group is Group.TOWN else rows


def openpyxl_report(s: Standings, path: Path, limit: int = 0) -> tuple[int, int]:
    """The report's data cells in a plain openpyxl write-only workbook: (units, cells).

    Rankings of both groups, towns x (value, points) of each indicator, and one row per unit and
    work item, under a plain header row each; no formats, titles, charts or bonus sheet.
    """
    items = s.plan.work.items
    inds = s.plan.development.indicators
    codes = [u.code for u in s.units]
    names = [u.name for u in s.units]
    order = {group: ranked(s, group, limit) for group in Group}
    book = openpyxl.Workbook(write_only=True)
    cells = 0

    for group in Group:
        town = group is Group.TOWN
        rows = order[group]
        ws = book.create_sheet(f"ranking_{group.value}")
        header = ["rank", "code", "unit", "tier", *(["development"] if town else [])]
        header += [item.code for item in items] + ["bonus", "deductions", "total", "share"]
        ws.append(header)
        parts = [s.development[rows][:, None]] if town else []
        parts += [
            s.work.points[rows],
            s.bonus_points[rows][:, None],
            s.work.deducted.sum(axis=1)[rows][:, None],
            s.totals[rows][:, None],
            (s.totals[rows] / s.plan.max_without_bonus(group))[:, None],
        ]
        numbers = _cells(np.hstack(parts))
        ranks = s.ranks[rows].tolist()
        for i, row in enumerate(rows.tolist()):
            ws.append([ranks[i], codes[row], names[row], s.tiers[row], *numbers[i]])
        cells += len(header) * (len(rows) + 1)

    e = s.efficacy
    t_of_row = np.full(len(s.units), -1, dtype=int)
    t_of_row[s.town_rows] = np.arange(len(s.town_rows))
    rows = order[Group.TOWN]
    ws = book.create_sheet("indicators")
    header = ["code", "unit", "development"]
    header += [f"{ind.code} {part}" for ind in inds for part in ("value", "points")]
    ws.append(header)
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        ts = t_of_row[part]
        block = np.empty((len(part), 1 + 2 * len(inds)))
        block[:, 0] = s.development[part]
        block[:, 1::2] = e.values[ts]
        block[:, 2::2] = e.points[ts]
        for row, numbers in zip(part.tolist(), _cells(block), strict=True):
            ws.append([codes[row], names[row], *numbers])
    cells += len(header) * (len(rows) + 1)

    w = s.work
    no_grade = np.isnan(w.coef)
    masks = (
        no_grade.astype(int)
        | (~no_grade & np.isnan(w.year_end)).astype(int) << 1
        | w.trimmed.astype(int) << 2
        | ((w.deducted > 0) & (w.raw < w.deducted)).astype(int) << 3
    )
    flag_texts = [
        " ".join(key for bit, key in enumerate(FLAG_KEYS) if mask >> bit & 1) or None
        for mask in range(1 << len(FLAG_KEYS))
    ]
    columns = (w.daily, w.year_end, w.coef, w.raw, w.deducted, w.points)
    ws = book.create_sheet("work")
    header = ["code", "unit", "group", "item", "daily", "year_end", "coef", "raw", "deducted"]
    header += ["points", "flags"]
    ws.append(header)
    n_rows = 0
    for group in Group:
        for start in range(0, len(order[group]), CHUNK):
            part = order[group][start : start + CHUNK]
            numbers = _cells(np.stack([a[part] for a in columns], axis=2))
            flags = masks[part].tolist()
            for i, row in enumerate(part.tolist()):
                for j, item in enumerate(items):
                    ws.append(
                        [
                            codes[row],
                            names[row],
                            group.value,
                            item.name,
                            *numbers[i][j],
                            flag_texts[flags[i][j]],
                        ]
                    )
            n_rows += len(part) * len(items)
    cells += len(header) * (n_rows + 1)

    book.save(path)
    return sum(len(rows) for rows in order.values()), cells


# The driver -----------------------------------------------------------------------------------


@dataclass
class Line:
    """One line of the table."""

    phase: str
    library: str
    measure: Measure | None
    ours: bool
    note: str = ""  # why the figures are extrapolated, if they are


def run_phase(args: argparse.Namespace) -> int:
    """In a child process: run one phase and leave its figures as JSON in the work folder."""
    workdir = Path(args.workdir)
    measure = PHASES[args.phase](args, workdir)
    out = workdir / f"{args.phase}-{args.limit}.json"
    out.write_text(json.dumps(asdict(measure)))
    return 0


def child(args: argparse.Namespace, workdir: Path, phase: str, limit: int = 0) -> Measure | None:
    """Run one phase in a fresh interpreter; its figures, or None (and why) if it failed."""
    size = f"first {limit:,} towns" if limit else "full size"
    print(f"  running {phase} ({size}) ...", flush=True)
    command = [
        sys.executable,
        "-m",
        "bench.bench_workbooks",
        "--phase",
        phase,
        "--workdir",
        str(workdir),
        "--towns",
        str(args.towns),
        "--departments",
        str(args.departments),
        "--indicators",
        str(args.indicators),
        "--seed",
        str(args.seed),
        "--limit",
        str(limit),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    out = workdir / f"{phase}-{limit}.json"
    if done.returncode != 0 or not out.exists():
        print(f"  {phase} failed (exit {done.returncode}):")
        for line in done.stderr.strip().splitlines()[-15:]:
            print(f"    {line}")
        return None
    return Measure(**json.loads(out.read_text()))


def comparison(
    args: argparse.Namespace, workdir: Path, phase: str, full_rows: int
) -> tuple[Measure | None, str]:
    """An openpyxl comparison: in full, or from a 10,000-town run if full would exceed 60 s."""
    if args.towns <= SUBSET:
        return child(args, workdir, phase), ""
    trial = child(args, workdir, phase, SUBSET)
    if trial is None:
        return None, ""
    scale = full_rows / trial.rows
    predicted = trial.seconds * scale
    if predicted <= EXTRAPOLATE_OVER:
        return child(args, workdir, phase), ""
    note = (
        f"extrapolated linearly: {trial.seconds:.2f} s for {trial.rows:,} "
        f"{'rows' if phase.startswith('read') else 'units'} x {scale:.3f} predicts "
        f"{predicted:.1f} s > {EXTRAPOLATE_OVER:.0f} s, so the full size was not run; "
        f"peak memory is that of the {trial.rows:,} run"
    )
    trial.seconds = predicted
    trial.rows = full_rows
    trial.cells = round(trial.cells * scale)
    return trial, note


def print_table(lines: list[Line], notes: list[str]) -> None:
    """The results table, then its footnotes."""
    goal = f"<{GOAL_SECONDS:.0f} s, <{GOAL_MIB:.0f} MiB"
    head = (
        f"{'phase':<14}{'library':<44}{'rows':>8}{'seconds':>10}{'peak MiB':>10}"
        f"{'base MiB':>10}{'goal':>21}{'':>7}"
    )
    print(head)
    print("-" * len(head))
    for line in lines:
        m = line.measure
        if m is None:
            print(f"{line.phase:<14}{line.library:<44}{'':>8}{'failed':>10}")
            continue
        ok = m.seconds < GOAL_SECONDS and m.peak_mib < GOAL_MIB
        mark = "*" if line.note else ""
        result = verdict(ok) if line.ours else f"({verdict(ok)})"
        print(
            f"{line.phase:<14}{line.library:<44}{m.rows:>8,}{m.seconds:>9.2f}{mark or ' '}"
            f"{m.peak_mib:>9.0f}{mark or ' '}{m.baseline_mib:>10.0f}{goal:>21}{result:>7}"
        )
    print()
    for note in notes:
        print(textwrap.fill(note, NOTE_WIDTH, subsequent_indent="  ") if note else note)


def ratio(ours: Measure | None, theirs: Measure | None, what: str) -> str:
    """openpyxl's time over ours, as a sentence."""
    if ours is None or theirs is None:
        return f"{what}: no ratio (a phase failed)"
    return (
        f"{what}: openpyxl {theirs.seconds:.2f} s / ours {ours.seconds:.2f} s = "
        f"{theirs.seconds / ours.seconds:.1f}x; peak {theirs.peak_mib:.0f} / "
        f"{ours.peak_mib:.0f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, one process per phase, and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--towns", type=int, default=40_000, help="towns (default 40000)")
    parser.add_argument("--indicators", type=int, default=N_INDICATORS, help="(default 60)")
    parser.add_argument("--departments", type=int, default=300, help="departments (default 300)")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        return run_phase(args)

    calamine = f"python-calamine {version('python-calamine')}"
    xlsxwriter = f"XlsxWriter {version('XlsxWriter')}"
    openpyxl_name = f"openpyxl {version('openpyxl')}"
    lxml = "lxml" if openpyxl.LXML else "et_xmlfile, no lxml"
    print(
        f"workbooks benchmark: {args.towns:,} towns + {args.departments:,} departments, "
        f"{args.indicators} indicators; Python {sys.version.split()[0]}; one process per phase"
    )
    with tempfile.TemporaryDirectory(prefix="kaohe-bench-") as tmp:
        workdir = Path(tmp)
        prep = child(args, workdir, "prepare")
        if prep is None:
            print("could not prepare the synthetic year; nothing measured")
            return 0
        units = args.towns + args.departments
        read_ours = child(args, workdir, "read-calamine")
        read_theirs, read_note = comparison(args, workdir, "read-openpyxl", args.towns)
        write_ours = child(args, workdir, "write-xlsxwriter")
        write_theirs, write_note = comparison(args, workdir, "write-openpyxl", units)

    print()
    lines = [
        Line("read values", f"reader.read_values ({calamine})", read_ours, True),
        Line("read values", f"{openpyxl_name} read_only, bare", read_theirs, False, read_note),
        Line("write report", f"report.write_report ({xlsxwriter})", write_ours, True),
        Line("write report", f"{openpyxl_name} write_only, bare", write_theirs, False, write_note),
    ]
    notes = [
        ratio(read_ours, read_theirs, "read "),
        ratio(write_ours, write_theirs, "write"),
        "",
        "ours: read_values checks every cell (numbers, units, duplicates, formula errors);",
        "  write_report is XlsxWriter constant_memory for titles, formats, merged headers,",
        "  charts and page setup, with the data rows streamed as sheet XML into the package.",
        "openpyxl (comparison): read_only iteration of every cell value, no checks;",
        "  write_only rows of the same data cells (rankings, indicator value/points, work",
        f"  items), no formats, no bonus sheet; it writes with {lxml}.",
        "rows: data rows read, or units written. Goal applies to ours; a verdict in brackets",
        "  says whether the openpyxl comparison would meet it. One timed run per phase.",
        "peak MiB: ru_maxrss of the phase's own fresh process; base MiB: the same just",
        "  before the timed work (interpreter, imports and inputs; the writers hold the",
        "  unpickled Standings).",
        f"prepare: synthetic year built in {prep.extra['built']:.1f} s "
        f"({prep.extra['grades']:,.0f} grades), scored in {prep.extra['scored']:.1f} s; values",
        f"  workbook written with {xlsxwriter} constant_memory in {prep.seconds:.1f} s "
        f"({prep.size / 2**20:.1f} MiB).",
    ]
    if read_ours is not None and read_theirs is not None and not read_note:
        same = "the same" if read_ours.cells == read_theirs.cells else "DIFFERENT"
        notes.append(
            f"numbers read: ours {read_ours.cells:,}, openpyxl {read_theirs.cells:,} ({same})."
        )
    if write_ours is not None and write_theirs is not None and not write_note:
        notes.append(
            f"files written: ours {write_ours.size / 2**20:.1f} MiB, openpyxl "
            f"{write_theirs.size / 2**20:.1f} MiB ({write_theirs.cells:,} cells)."
        )
    for mark_note in (read_note, write_note):
        if mark_note:
            notes.append(f"* {mark_note}.")
    print_table(lines, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
