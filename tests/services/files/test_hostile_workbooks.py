"""Hostile workbooks: refused before parsing, or parsed where a runaway cannot take us down.

The files come from tests/fixtures_hostile.py. Before this, the huge-dimension and the far-cells
files aborted the whole process (a Rust allocation of 512 GB, exit 134), the shared strings
bomb the same (96 GB), and the whitespace bomb imported after seconds at 1.7 GB.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scoring import InputError, InputProblem
from services.files import safety
from services.files.isolation import ChildFailed, ChildLimits, run_limited
from services.files.reader import format_problem, read_units, read_values
from services.files.safety import LIMITS, WorkbookLimits, check_workbook_file, dimension_extent
from tests.fixtures_hostile import (
    far_cells,
    huge_dimension,
    lying_size,
    many_members,
    not_a_zip,
    plain_workbook,
    strings_count_bomb,
    truncated,
    whitespace_bomb,
)
from tests.fixtures_workbooks import TOWNS, UNITS, default_plan, units_rows, write_sheet

PLAN = default_plan()
ROOT = Path(__file__).resolve().parents[3]


def refusals(path: Path) -> tuple[InputProblem, ...]:
    """The problems reading `path` as values raises, each naming the file in both languages."""
    with pytest.raises(InputError) as caught:
        read_values(path, PLAN, UNITS, source=path.name)
    for problem in caught.value.problems:
        assert problem.source == path.name
        assert path.name in format_problem(problem, "zh")
        assert path.name in format_problem(problem, "en")
    return caught.value.problems


def refusal(path: Path) -> InputProblem:
    """The one problem reading `path` as values raises."""
    [problem] = refusals(path)
    return problem


# -- checked before parsing ------------------------------------------------------------------


def test_a_sheet_declaring_the_whole_grid_is_refused_naming_the_sheet(tmp_path: Path) -> None:
    path = huge_dimension(tmp_path / "huge.xlsx")
    assert path.stat().st_size < 6 * 1024
    problem = refusal(path)
    assert problem.code == "sheet_too_large"
    assert problem.sheet == "values"
    assert problem.params["ref"] == "A1:XFD1048576"
    assert (problem.params["rows"], problem.params["columns"]) == (1048576, 16384)
    line = format_problem(problem, "zh")
    assert "A1:XFD1048576" in line and "values" in line and "删除数据区以外的行和列" in line


def test_the_whitespace_bomb_is_refused_by_its_compression_ratio(tmp_path: Path) -> None:
    path = whitespace_bomb(tmp_path / "bomb.xlsx", megabytes=1500)
    assert path.stat().st_size < 2 * 1024 * 1024
    started = time.monotonic()
    problems = refusals(path)
    assert time.monotonic() - started < 10  # refused from the zip directory, nothing inflated
    assert [p.code for p in problems] == ["zip_total_too_large", "zip_member_too_large"]
    assert problems[1].params["member"] == "xl/sharedStrings.xml"
    assert problems[1].params["size"] == 1500.0


def test_a_member_compressed_a_thousand_times_is_refused_even_when_small(tmp_path: Path) -> None:
    problem = refusal(whitespace_bomb(tmp_path / "bomb.xlsx", megabytes=50))
    assert problem.code == "zip_ratio_too_high"
    assert problem.params["ratio"] > 500
    assert problem.params["limit"] == 100


def test_a_zip_whose_declared_size_lies_is_refused(tmp_path: Path) -> None:
    problem = refusal(lying_size(tmp_path / "lie.xlsx"))
    assert problem.code == "zip_size_lies"
    assert problem.params["member"] == "xl/worksheets/sheet1.xml"


def test_shared_strings_declaring_billions_of_strings_are_refused(tmp_path: Path) -> None:
    problem = refusal(strings_count_bomb(tmp_path / "strings.xlsx"))
    assert problem.code == "strings_too_many"
    assert problem.params["count"] == 4_000_000_000


def test_a_zip_with_thousands_of_members_is_refused_before_its_directory_is_read(
    tmp_path: Path,
) -> None:
    problem = refusal(many_members(tmp_path / "many.xlsx"))
    assert problem.code == "zip_too_many_members"
    assert problem.params["count"] == 20_000


def test_a_non_zip_renamed_xlsx_is_not_a_workbook(tmp_path: Path) -> None:
    assert refusal(not_a_zip(tmp_path / "report.xlsx")).code == "not_a_workbook"


def test_a_truncated_zip_is_damaged(tmp_path: Path) -> None:
    problem = refusal(truncated(tmp_path / "cut.xlsx"))
    assert problem.code == "zip_damaged"
    assert "只下载或复制了一部分" in format_problem(problem, "zh")


def test_a_file_over_the_size_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_sheet(tmp_path / "x.xlsx", "units", units_rows())
    monkeypatch.setattr(safety, "LIMITS", WorkbookLimits(file_bytes=1000))
    with pytest.raises(InputError) as caught:
        read_units(path)
    assert [p.code for p in caught.value.problems] == ["file_too_large"]


def test_limits_are_checked_against_the_declared_dimension(tmp_path: Path) -> None:
    path = huge_dimension(tmp_path / "huge.xlsx")
    check_workbook_file(path, "ok.xlsx", WorkbookLimits(rows=2**21, columns=2**15, cells=2**40))
    with pytest.raises(InputError):
        check_workbook_file(path, "huge.xlsx", LIMITS)


@pytest.mark.parametrize(
    ("ref", "extent"),
    [
        ("A1", (1, 1)),
        ("A1:C3", (3, 3)),
        ("$B$2:$BI$40001", (40000, 60)),
        ("A1:XFD1048576", (1048576, 16384)),
        ("", None),
        ("A1:B2:C3", None),
        ("nonsense", None),
    ],
)
def test_dimension_extents(ref: str, extent: tuple[int, int] | None) -> None:
    assert dimension_extent(ref) == extent


def test_a_well_formed_hand_written_workbook_still_reads(tmp_path: Path) -> None:
    # The builders' baseline: the checks refuse the hostile variants, not the format itself.
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    rows += '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>7.5</v></c></row>'
    path = plain_workbook(tmp_path / "ok.xlsx", "values", rows, ["unit", "gdp_growth", "dianzi"])
    values = read_values(path, PLAN, TOWNS)
    assert values.matrix.tolist() == [[7.5]]


# -- parsed in a child process ----------------------------------------------------------------


@pytest.mark.parametrize("dimension", [None, "A1"])
def test_cells_far_apart_without_a_declared_range_are_one_refusal(
    tmp_path: Path, dimension: str | None
) -> None:
    # Nothing declares the range, so the checks pass; the reader's child aborts (512 GB) and
    # this process, the test run itself, goes on.
    problem = refusal(far_cells(tmp_path / "far.xlsx", dimension=dimension))
    assert problem.code == "reader_failed"
    assert problem.params["reason"] == "memory"
    assert "A1 和 XFD1048576" in format_problem(problem, "zh")


def allocate(gigabytes: int) -> int:
    """Allocate and touch memory in the child (MemoryError under its limit)."""
    return len(bytearray(gigabytes * 1024**3))


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def hang() -> None:
    time.sleep(60)


def fail() -> None:
    raise KeyError("a reader bug")


def refuse() -> None:
    raise InputError([InputProblem("sheet_empty", {"sheet": "values"}, "x.xlsx", "values")])


def test_a_child_returns_the_result() -> None:
    assert run_limited(divmod, ChildLimits(), 17, 5) == (3, 2)
    assert run_limited(os.getpid, ChildLimits()) != os.getpid()


def test_a_child_out_of_memory_is_memory() -> None:
    with pytest.raises(ChildFailed) as caught:
        run_limited(allocate, ChildLimits(memory_bytes=512 * 1024**2), 2)
    assert caught.value.reason == "memory"


def test_a_child_that_crashes_is_a_crash_with_its_signal() -> None:
    with pytest.raises(ChildFailed) as caught:
        run_limited(crash, ChildLimits())
    assert caught.value.reason == "crash"
    assert "SIGSEGV" in caught.value.detail


def test_a_child_that_hangs_is_stopped_at_its_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(ChildFailed) as caught:
        run_limited(hang, ChildLimits(seconds=1.0))
    assert caught.value.reason == "time"
    assert time.monotonic() - started < 20


def test_a_childs_exception_is_raised_here_with_its_traceback() -> None:
    with pytest.raises(KeyError) as caught:
        run_limited(fail, ChildLimits())
    assert any("a reader bug" in note for note in caught.value.__notes__)
    with pytest.raises(InputError) as refused:
        run_limited(refuse, ChildLimits())
    assert [p.code for p in refused.value.problems] == ["sheet_empty"]


def test_a_reader_failure_nobody_foresaw_is_one_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_sheet(tmp_path / "x.xlsx", "units", units_rows())
    with pytest.raises(InputError) as caught:
        safety.read_guarded(path, "x.xlsx", fail)
    assert [(p.code, p.params["reason"]) for p in caught.value.problems] == [
        ("reader_failed", "crash")
    ]
    limits = WorkbookLimits(child=ChildLimits(seconds=1.0))
    monkeypatch.setattr(safety, "LIMITS", limits)
    with pytest.raises(InputError) as slow:
        safety.read_guarded(path, "x.xlsx", hang)
    [problem] = slow.value.problems
    assert (problem.params["reason"], problem.params["limit"]) == ("time", 1.0)


def test_relative_paths_mean_the_same_in_the_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_sheet(tmp_path / "units.xlsx", "units", units_rows())
    monkeypatch.chdir(tmp_path)
    assert [u.code for u in read_units(Path("units.xlsx"))] == [u.code for u in UNITS]


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize("build", [huge_dimension, far_cells])
def test_kaohe_units_import_refuses_a_hostile_workbook_with_status_2(
    tmp_path: Path, build: object
) -> None:
    assert callable(build)
    path = build(tmp_path / "units.xlsx", "units")
    env = {
        **os.environ,
        "KAOHE_DATABASE_URL": f"sqlite:///{tmp_path / 'kaohe.db'}",
        "KAOHE_LANGUAGE": "en",
    }
    run = [sys.executable, "-m", "cli.app"]
    subprocess.run([*run, "db", "upgrade"], cwd=tmp_path, env=env, check=True, capture_output=True)
    result = subprocess.run(
        [*run, "units", "import", str(path)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr  # not 134, the abort of the whole process
    assert "units.xlsx" in result.stderr
    assert "Traceback" not in result.stderr
    assert "A1:XFD1048576" in result.stderr or "XFD1048576" in result.stderr


# -- memory of the process that refuses ------------------------------------------------------

_PEAK = """
import sys
from pathlib import Path
from services.uploads import check_upload, inspect_upload
for name in sys.argv[1:]:
    content = Path(name).read_bytes()
    info = inspect_upload(content, Path(name).name)
    if not info.problems:  # the sheets are only listed: the data sheet is parsed next
        info = check_upload(None, content, "units", None, Path(name).name, "Asia/Shanghai")
    assert info.problems, name
# VmHWM, the peak of this process's own memory: ru_maxrss would also count the pages of the
# (large) test process this one was started from, as Linux carries them over the exec.
status = Path("/proc/self/status").read_text()
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
"""


def test_refusing_the_hostile_files_keeps_the_process_under_300_mb(tmp_path: Path) -> None:
    # A fresh interpreter doing what the bot does with a document (services.uploads), so that
    # its peak resident memory is its own; the children that parse are not counted in it.
    files = [
        huge_dimension(tmp_path / "huge.xlsx", "units"),
        whitespace_bomb(tmp_path / "bomb.xlsx", 1500, "units"),
        far_cells(tmp_path / "far.xlsx", "units"),
    ]
    result = subprocess.run(
        [sys.executable, "-c", _PEAK, *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    peak_mb = int(result.stdout.split()[-1])
    assert peak_mb < 300, peak_mb
