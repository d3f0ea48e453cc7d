"""Hostile workbooks for the tests and the benchmark: files built to exhaust a reader.

Each builder writes one file and returns its path. The zip is written by hand (`write_zip`)
so that a member can be gigabytes of whitespace compressed to a megabyte in about a second
(one deflated block repeated) and so that declared sizes can lie.

- `huge_dimension`: 6 KB; the sheet declares `A1:XFD1048576` and has a cell at XFD1048576.
- `far_cells`: the same two cells without a `<dimension>` (nothing to check before parsing;
  the reader allocates the whole range and aborts).
- `whitespace_bomb`: 1.5 GB of whitespace (in a shared string) in a 1.5 MB file.
- `lying_size`: a sheet whose declared uncompressed size is 2 KB but which inflates to 200 MB.
- `not_a_zip`: a PDF renamed .xlsx. `truncated`: the first half of a real workbook.
- `strings_count_bomb`: shared strings declaring four billion strings.
- `many_members`: a zip of 20,000 empty members.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures_workbooks import write_sheet

MIB = 1024 * 1024
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_OOXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"

CONTENT_TYPES = (
    f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_TYPES}">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_OOXML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OOXML}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_OOXML}.sharedStrings+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)


def workbook_xml(sheet: str) -> str:
    """The workbook part of a workbook with one sheet."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_NS}" xmlns:r="{_REL}">'
        f'<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def sheet_xml(rows: str, dimension: str | None = None) -> str:
    """A worksheet part with the given `<row>` elements (and `<dimension ref>` if given)."""
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_NS}">{declared}'
        f"<sheetData>{rows}</sheetData></worksheet>"
    )


def strings_xml(strings: Iterable[str], count: int | None = None) -> str:
    """A shared strings part; `count` overrides the declared count."""
    items = list(strings)
    n = len(items) if count is None else count
    body = "".join(f'<si><t xml:space="preserve">{s}</t></si>' for s in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_NS}" count="{n}" uniqueCount="{n}">{body}</sst>'  # noqa: E501


# -- a zip written by hand ---------------------------------------------------------------------


@dataclass
class Member:
    """A zip member: its deflated bytes (in pieces), its real size and CRC, and the size its
    headers declare (the real one unless it is to lie)."""

    name: str
    pieces: Iterable[bytes]
    size: int
    crc: int
    declared: int | None = None


def deflated(data: bytes) -> Member:
    """A member holding `data`, deflated (the name is set by the caller)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = packer.compress(data) + packer.flush()
    return Member("", [body], len(data), zlib.crc32(data))


def repeated(head: bytes, chunk: bytes, times: int, tail: bytes) -> Member:
    """`head + chunk * times + tail`, deflated without ever holding it: after a full flush
    deflate starts afresh, so the compressed chunk is the same bytes every time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    middle = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    last = packer.compress(tail) + packer.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)

    def pieces() -> Iterator[bytes]:
        yield first
        for _ in range(times):
            yield middle
        yield last

    return Member("", pieces(), len(head) + len(chunk) * times + len(tail), crc)


def write_zip(path: Path, members: Iterable[Member]) -> Path:
    """A zip of deflated members (no ZIP64: every member under 4 GiB)."""
    directory: list[bytes] = []
    with path.open("wb") as out:
        for member in members:
            name = member.name.encode()
            declared = member.size if member.declared is None else member.declared
            offset = out.tell()
            out.write(_local_header(name, member.crc, 0, declared))
            compressed = 0
            for piece in member.pieces:
                out.write(piece)
                compressed += len(piece)
            end = out.tell()
            out.seek(offset)
            out.write(_local_header(name, member.crc, compressed, declared))
            out.seek(end)
            directory.append(_central_entry(name, member.crc, compressed, declared, offset))
        start = out.tell()
        for entry in directory:
            out.write(entry)
        size = out.tell() - start
        out.write(
            struct.pack(
                "<4s4H2LH", b"PK\x05\x06", 0, 0, len(directory), len(directory), size, start, 0
            )
        )
    return path


def _local_header(name: bytes, crc: int, compressed: int, size: int) -> bytes:
    return (
        struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, compressed, size, len(name), 0
        )
        + name
    )


def _central_entry(name: bytes, crc: int, compressed: int, size: int, offset: int) -> bytes:
    return (
        struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            20,
            20,
            0,
            8,
            0,
            0x21,
            crc,
            compressed,
            size,
            len(name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        + name
    )


def workbook_members(sheet: str, sheet_part: Member, strings_part: Member) -> list[Member]:
    """The parts of a one-sheet workbook around the given sheet and shared strings."""
    parts = [
        ("[Content_Types].xml", deflated(CONTENT_TYPES.encode())),
        ("_rels/.rels", deflated(PACKAGE_RELS.encode())),
        ("xl/workbook.xml", deflated(workbook_xml(sheet).encode())),
        ("xl/_rels/workbook.xml.rels", deflated(WORKBOOK_RELS.encode())),
        ("xl/worksheets/sheet1.xml", sheet_part),
        ("xl/sharedStrings.xml", strings_part),
    ]
    for name, member in parts:
        member.name = name
    return [member for _, member in parts]


def plain_workbook(path: Path, sheet: str, rows: str, strings: Iterable[str] = ("unit",)) -> Path:
    """A small, well-formed workbook written by `write_zip` (the baseline of the builders)."""
    members = workbook_members(
        sheet, deflated(sheet_xml(rows).encode()), deflated(strings_xml(strings).encode())
    )
    return write_zip(path, members)


# -- the hostile files -------------------------------------------------------------------------

_FAR_ROWS = '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'  # noqa: E501


def huge_dimension(path: Path, sheet: str = "values") -> Path:
    """A 6 KB workbook whose sheet declares A1:XFD1048576 and has a cell at XFD1048576: the
    reader would allocate 16384 x 1048576 cells (512 GB) and abort the process."""
    padding = "".join(f'<row r="{r}"><c r="B{r}"><v>{r}</v></c></row>' for r in range(2, 200))
    rows = _FAR_ROWS.replace('</row><row r="1048576">', f'</row>{padding}<row r="1048576">')
    part = deflated(sheet_xml(rows, "A1:XFD1048576").encode())
    return write_zip(path, workbook_members(sheet, part, deflated(strings_xml(["unit"]).encode())))


def far_cells(path: Path, sheet: str = "values", dimension: str | None = None) -> Path:
    """Cells at A1 and XFD1048576 with no `<dimension>` (or a lying one such as "A1"):
    nothing declares the range, and the reader still allocates all of it."""
    part = deflated(sheet_xml(_FAR_ROWS, dimension).encode())
    return write_zip(path, workbook_members(sheet, part, deflated(strings_xml(["unit"]).encode())))


def whitespace_bomb(path: Path, megabytes: int = 1500, sheet: str = "values") -> Path:
    """A well-formed values workbook whose one shared string (a remark) holds `megabytes` of
    spaces: 1.5 GB in a 1.5 MB file. The reader would hold every byte of it in memory."""
    rows = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>unit</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>备注</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>dianzi</t></is></c>'
        '<c r="B2" t="s"><v>0</v></c></row>'
    )
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_NS}" count="1" uniqueCount="1">'
        '<si><t xml:space="preserve">'
    ).encode()
    strings = repeated(head, b" " * MIB, megabytes, b"</t></si></sst>")
    part = deflated(sheet_xml(rows, "A1:B2").encode())
    return write_zip(path, workbook_members(sheet, part, strings))


def lying_size(path: Path, megabytes: int = 200, sheet: str = "values") -> Path:
    """A sheet that inflates to `megabytes` of whitespace while its headers declare 2 KB."""
    head = sheet_xml("", "A1:B2").split("<sheetData>")[0].encode() + b"<sheetData>"
    part = repeated(head, b" " * MIB, megabytes, b"</sheetData></worksheet>")
    part.declared = 2048
    return write_zip(path, workbook_members(sheet, part, deflated(strings_xml(["unit"]).encode())))


def strings_count_bomb(path: Path, sheet: str = "values") -> Path:
    """Shared strings that declare four billion strings (the reader reserves room for them
    all, 96 GB, and aborts) around a single one."""
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    strings = deflated(strings_xml(["unit"], count=4_000_000_000).encode())
    return write_zip(path, workbook_members(sheet, deflated(sheet_xml(rows).encode()), strings))


def many_members(path: Path, count: int = 20_000) -> Path:
    """A zip of `count` empty members (a directory that would take memory to load)."""
    members = []
    for i in range(count):
        member = deflated(b"")
        member.name = f"x/{i}.xml"
        members.append(member)
    return write_zip(path, members)


def not_a_zip(path: Path) -> Path:
    """A PDF renamed .xlsx."""
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")
    return path


def truncated(path: Path) -> Path:
    """The first half of a real workbook (a download cut short): no zip directory."""
    write_sheet(path, "values", [["unit", "gdp_growth"], ["dianzi", 7.5]])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path
