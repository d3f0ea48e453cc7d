"""Hostile workbooks: what a workbook may declare before it is parsed, and parsing it safely.

Two lines of defence for every workbook the readers open (from the bot or the command line):

1. `check_workbook_file` looks at the file without parsing it: its size, the zip's directory
   (members, declared sizes, compression ratios), the `<dimension>` each worksheet declares and
   the string count the shared strings declare. It reads only the zip's central directory and
   the first kilobytes of a few members, in this process, in constant memory. A file over a
   limit is refused with an `InputError` naming the file, the sheet and what is wrong.
2. `read_guarded` then runs the reader in a child process (services.files.isolation) with a
   memory and a time limit, so that whatever the checks could not foresee (a sheet whose cells
   lie far apart without declaring it, a reader bug, a hang) is one clear refusal
   (`reader_failed`) and the process that asked keeps serving everyone else.

Limits, and why (`LIMITS`, one place):

- The largest legitimate import the benchmarks use is a values workbook of 40,000 rows x 60
  indicator columns: 2.4 million cells, a 102 MB sheet XML, 31 MB zipped (compression ratio
  3.3), read in ~10 s with a peak of ~530 MB of address space. Tasks and grades workbooks have
  more rows but far fewer columns. The limits leave four to five times that headroom:
  200,000 rows, 1,000 columns (no plan has near that many indicators), 10 million cells.
- A real sheet XML takes ~43 bytes a cell, so 10 million cells are ~430 MB: a member may
  inflate to 512 MiB, the whole file to 1 GiB, and hold at most 1,000 members (an xlsx has
  about a dozen). Shared strings may declare at most 10 million strings.
- Compression ratio: at most 100 for members over 1 MiB (Apache POI's zip-bomb rule, whose
  default minimum inflate ratio is 0.01). Spreadsheet XML compresses 3-20 times; a bomb of
  whitespace compresses 1,000 times.
- The file itself: at most 100 MB (the bot can only download 20 MB anyway).
- The child: 2 GiB of address space (four times the benchmark's peak) and 120 s.
"""

from __future__ import annotations

import logging
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import ParamSpec, TypeVar
from xml.etree import ElementTree

from scoring import InputError, InputProblem
from services.files.isolation import ChildFailed, ChildLimits, run_limited

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

MIB = 1024 * 1024

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class WorkbookLimits:
    """What a workbook may declare, and what reading it may use (see the module docstring)."""

    file_bytes: int = 100 * MIB
    members: int = 1_000
    member_bytes: int = 512 * MIB
    total_bytes: int = 1024 * MIB
    ratio: float = 100.0
    ratio_from_bytes: int = 1 * MIB  # smaller members may compress as well as they like
    rows: int = 200_000
    columns: int = 1_000
    cells: int = 10_000_000
    strings: int = 10_000_000
    # Parts parsed in this process (workbook.xml and its relationships) are never this large.
    part_bytes: int = 8 * MIB
    child: ChildLimits = field(default_factory=ChildLimits)


LIMITS = WorkbookLimits()

# How much of a worksheet or the shared strings is read to find what it declares.
_HEAD_BYTES = 64 * 1024
_DIMENSION = re.compile(rb'<(?:[\w.-]+:)?dimension\s[^>]*?\bref="([^"]*)"')
_SST = re.compile(rb"<(?:[\w.-]+:)?sst\b[^>]*>")
_COUNT = re.compile(rb'\b(count|uniqueCount)="\s*(\d+)\s*"')
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")
_SHEET_MEMBER = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)
_END_OF_DIRECTORY = b"PK\x05\x06"
_ZIP64_END = b"PK\x06\x06"


def problem(code: str, source: str, sheet: str = "", /, **params: object) -> InputProblem:
    """A problem of a whole file (or one of its sheets)."""
    return InputProblem(code, {"file": source, **params}, source, sheet)


def check_workbook_file(path: Path, source: str, limits: WorkbookLimits = LIMITS) -> None:
    """Refuse (InputError) a workbook file whose size, zip directory, declared sheet
    dimensions or shared string count go over `limits`; parses nothing."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            magic = handle.read(8)
    except FileNotFoundError:
        raise InputError([problem("file_missing", source)]) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError([problem("file_unreadable", source, reason=reason)]) from None
    if size > limits.file_bytes:
        raise InputError(
            [problem("file_too_large", source, size=_mb(size), limit=_whole_mb(limits.file_bytes))]
        )
    if magic.startswith(ZIP_MAGIC) or magic.startswith(EMPTY_ZIP_MAGIC):
        problems = _check_zip(path, size, source, limits)
        if problems:
            raise InputError(problems)
    elif magic != OLE_MAGIC:
        # Neither xlsx (a zip) nor xls (an OLE compound file): a PDF, a picture, text …
        raise InputError([problem("not_a_workbook", source, reason="signature")])


def _check_zip(path: Path, size: int, source: str, limits: WorkbookLimits) -> list[InputProblem]:
    count = _declared_member_count(path, size)
    if count is None:
        return [problem("zip_damaged", source, reason="no_directory")]
    if count > limits.members:
        return [problem("zip_too_many_members", source, count=count, limit=limits.members)]
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return [problem("zip_damaged", source, reason="directory", detail=str(exc))]
    with archive:
        return _check_members(archive, source, limits)


def _declared_member_count(path: Path, size: int) -> int | None:
    """The member count the zip's end-of-directory record declares, read before the directory
    itself (whose entries zipfile would otherwise all load); None if there is no such record."""
    tail_size = min(size, 22 + 65535 + 20 + 56)
    with path.open("rb") as handle:
        handle.seek(size - tail_size)
        tail = handle.read(tail_size)
    at = tail.rfind(_END_OF_DIRECTORY)
    if at < 0 or at + 22 > len(tail):
        return None
    (count,) = struct.unpack_from("<H", tail, at + 10)
    if count == 0xFFFF:  # ZIP64: the real count is in the ZIP64 end record
        at64 = tail.rfind(_ZIP64_END, 0, at)
        if at64 < 0 or at64 + 40 > len(tail):
            return None
        (count,) = struct.unpack_from("<Q", tail, at64 + 32)
    return int(count)


def _check_members(
    archive: zipfile.ZipFile, source: str, limits: WorkbookLimits
) -> list[InputProblem]:
    problems: list[InputProblem] = []
    infos = archive.infolist()
    total = sum(i.file_size for i in infos)
    if total > limits.total_bytes:
        problems.append(
            problem(
                "zip_total_too_large",
                source,
                size=_mb(total),
                limit=_whole_mb(limits.total_bytes),
            )
        )
    for info in infos:
        if info.file_size > limits.member_bytes:
            problems.append(
                problem(
                    "zip_member_too_large",
                    source,
                    member=info.filename,
                    size=_mb(info.file_size),
                    limit=_whole_mb(limits.member_bytes),
                )
            )
        elif info.file_size > limits.ratio_from_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.ratio:
                problems.append(
                    problem(
                        "zip_ratio_too_high",
                        source,
                        member=info.filename,
                        size=_mb(info.file_size),
                        ratio=round(ratio),
                        limit=round(limits.ratio),
                    )
                )
        if _size_lies(info):
            problems.append(problem("zip_size_lies", source, member=info.filename))
    if problems:
        return problems
    names = _sheet_names(archive, limits)
    for info in infos:
        if _SHEET_MEMBER.match(info.filename):
            sheet = names.get(info.filename, info.filename)
            problems.extend(_check_dimension(archive, info, source, sheet, limits))
        elif info.filename.lower() == "xl/sharedstrings.xml":
            problems.extend(_check_strings(archive, info, source, limits))
    return problems


def _size_lies(info: zipfile.ZipInfo) -> bool:
    """Deflate never makes data more than a little larger (5 bytes per 16 KB block of stored
    data), so a compressed size well over the declared size means the declared size lies."""
    if info.compress_type != zipfile.ZIP_DEFLATED:
        return False
    return info.compress_size > info.file_size + info.file_size // 1000 + 1024


def _head(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The first bytes of a member (inflating only what is needed); b"" if it cannot be read."""
    try:
        with archive.open(info) as stream:
            return stream.read(_HEAD_BYTES)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return b""  # damaged or encrypted: the reader reports it


def _check_dimension(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    source: str,
    sheet: str,
    limits: WorkbookLimits,
) -> list[InputProblem]:
    match = _DIMENSION.search(_head(archive, info))
    if match is None:
        return []
    ref = match.group(1).decode("ascii", "replace")
    extent = dimension_extent(ref)
    if extent is None:
        return []
    rows, columns = extent
    if rows <= limits.rows and columns <= limits.columns and rows * columns <= limits.cells:
        return []
    return [
        problem(
            "sheet_too_large",
            source,
            sheet,
            ref=ref,
            rows=rows,
            columns=columns,
            cells=rows * columns,
            max_rows=limits.rows,
            max_columns=limits.columns,
            max_cells=limits.cells,
        )
    ]


def dimension_extent(ref: str) -> tuple[int, int] | None:
    """Rows and columns of a range such as `A1:XFD1048576` (a single cell is 1 x 1); None if
    it is not a range."""
    corners = [_CELL.fullmatch(part.strip()) for part in ref.split(":")]
    if not 1 <= len(corners) <= 2 or any(c is None for c in corners):
        return None
    cells = [(int(c.group(2)), _column_number(c.group(1))) for c in corners if c is not None]
    first, last = cells[0], cells[-1]
    return abs(last[0] - first[0]) + 1, abs(last[1] - first[1]) + 1


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _check_strings(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str, limits: WorkbookLimits
) -> list[InputProblem]:
    head = _SST.search(_head(archive, info))
    if head is None:
        return []
    declared = {k.decode(): int(v) for k, v in _COUNT.findall(head.group(0))}
    count = max(declared.values(), default=0)
    if count <= limits.strings:
        return []
    return [problem("strings_too_many", source, count=count, limit=limits.strings)]


def _sheet_names(archive: zipfile.ZipFile, limits: WorkbookLimits) -> dict[str, str]:
    """Worksheet member -> sheet name, from workbook.xml and its relationships (when small)."""

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    def read(name: str) -> ElementTree.Element | None:
        try:
            info = archive.getinfo(name)
            if info.file_size > limits.part_bytes:
                return None
            return ElementTree.fromstring(archive.read(info))
        except (KeyError, zipfile.BadZipFile, OSError, ValueError, ElementTree.ParseError):
            return None

    book = read("xl/workbook.xml")
    rels = read("xl/_rels/workbook.xml.rels")
    if book is None or rels is None:
        return {}
    targets: dict[str, str] = {}
    for el in rels.iter():
        if local(el.tag) == "Relationship":
            target = el.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[el.get("Id", "")] = str(PurePosixPath(path))
    names: dict[str, str] = {}
    for el in book.iter():
        if local(el.tag) == "sheet":
            rel_id = next((v for k, v in el.attrib.items() if local(k) == "id"), "")
            if rel_id in targets:
                names[targets[rel_id]] = el.get("name", "")
    return names


def _mb(size: int) -> float:
    return round(size / MIB, 1)


def _whole_mb(size: int) -> int:
    return round(size / MIB)


def read_guarded(
    path: Path,
    source: str,
    reader: Callable[P, T],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Check the workbook at `path`, then run `reader(*args, **kwargs)` in a child process
    under the limits: its result, or InputError (the reader's, or `reader_failed`)."""
    limits = LIMITS
    check_workbook_file(path, source, limits)
    try:
        return run_limited(reader, limits.child, *args, **kwargs)
    except InputError:
        raise
    except ChildFailed as exc:
        log.warning("reading workbook %s failed in its child process: %s", source, exc)
        params: dict[str, object] = {"reason": exc.reason}
        if exc.reason == "memory":
            params["limit"] = _whole_mb(limits.child.memory_bytes)
        elif exc.reason == "time":
            params["limit"] = limits.child.seconds
        raise InputError([problem("reader_failed", source, **params)]) from exc
    except Exception as exc:
        # A reader bug on a file nobody foresaw: one refusal here, the traceback in the log.
        log.exception("the workbook reader failed on %s", source)
        raise InputError([problem("reader_failed", source, reason="crash")]) from exc
