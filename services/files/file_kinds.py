"""What an evidence file is, judged by its content (magic bytes), never by its name or the type
Telegram was told.

Accepted, as the bot has always accepted them: PDF, Word (doc, docx), Excel (xls, xlsx) and
pictures (jpg, png, heic, webp). Everything else is refused, whatever it is called:
`invoice.pdf.exe` with an executable header, a "PDF" that is an ELF binary or a shell script,
an empty file, a macro-enabled Office file, an unknown format.

The magic bytes are read by `filetype` (pure Python, no libmagic). Office files need more than
magic bytes: an xlsx and a docx are both zips, an xls and a doc (and an .msi installer) are all
OLE compound files, so those are told apart by what they contain: the zip's part names
(`word/document.xml`, `xl/workbook.xml`, a `vbaProject.bin` of macros) and the OLE directory's
stream names (`WordDocument`, `Workbook` / `Book`).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import filetype

ACCEPTED: tuple[str, ...] = ("pdf", "doc", "docx", "xls", "xlsx", "jpg", "png", "heic", "webp")
# filetype's own answer for the kinds it tells reliably from magic bytes alone.
_BY_MAGIC = {"pdf": "pdf", "jpg": "jpg", "png": "png", "webp": "webp", "heic": "heic"}
_HEAD = 8192  # what filetype reads
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# OLE directory entry names are UTF-16LE.
_WORD_STREAM = "WordDocument".encode("utf-16-le")
_EXCEL_STREAMS = tuple(name.encode("utf-16-le") + b"\x00\x00" for name in ("Workbook", "Book"))
_OLE_MACROS = "_VBA_PROJECT".encode("utf-16-le")
_EXECUTABLES = {"exe", "elf", "wasm", "swf", "crx", "rpm", "deb", "cab"}


@dataclass(frozen=True)
class Judged:
    """What a file is: `kind` when it is one of ACCEPTED, else None; `found` says what it was
    found to be ("exe", "elf", "script", "empty", "macro", "zip", "ole", "unknown", or a format
    filetype knows such as "gif")."""

    kind: str | None
    found: str

    @property
    def accepted(self) -> bool:
        """Whether the file may be kept as evidence."""
        return self.kind is not None


def judge_file(content: bytes | Path) -> Judged:
    """Judge a file by its content: bytes, or the file at a path."""
    data = content.read_bytes() if isinstance(content, Path) else bytes(content)
    if not data:
        return Judged(None, "empty")
    head = data[:_HEAD]
    if head.startswith(b"#!"):
        return Judged(None, "script")
    if head.startswith(_ZIP):
        return _judge_zip(data)
    if head.startswith(_OLE):
        return _judge_ole(data)
    guess = filetype.guess(head)
    found = guess.extension if guess is not None else None
    if found in _BY_MAGIC:
        return Judged(_BY_MAGIC[found], found)
    if found is None and b"%PDF-" in head[:1024]:
        return Judged("pdf", "pdf")  # a PDF may start with a little junk before its header
    if found in _EXECUTABLES:
        return Judged(None, "exe" if found == "exe" else found)
    return Judged(None, found or "unknown")


def _judge_zip(data: bytes) -> Judged:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = {name.lower() for name in archive.namelist()}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return Judged(None, "zip")
    if any(name.endswith("vbaproject.bin") for name in names):
        return Judged(None, "macro")
    if "word/document.xml" in names:
        return Judged("docx", "docx")
    if "xl/workbook.xml" in names:
        return Judged("xlsx", "xlsx")
    return Judged(None, "zip")


def _judge_ole(data: bytes) -> Judged:
    if _OLE_MACROS in data:
        return Judged(None, "macro")
    if _WORD_STREAM in data:
        return Judged("doc", "doc")
    if any(name in data for name in _EXCEL_STREAMS):
        return Judged("xls", "xls")
    return Judged(None, "ole")
