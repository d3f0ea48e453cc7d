"""Workbooks received as bytes (a document sent to the bot): the one place that puts them on disk.

The readers take a path: the safety checks read the zip's directory from the file, and the
child process that parses it (services.files.safety, isolation) opens it by name, so the bytes
are never pickled across to it. A received workbook is therefore written to a private temporary
folder for the read and removed after it; no caller makes a temporary folder of its own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A workbook's suffix is kept from the sent name; any other name is read as .xlsx.
_SUFFIXES = (".xlsx", ".xls", ".xlsm")


@contextmanager
def received_workbook(content: bytes, file_name: str) -> Iterator[Path]:
    """The bytes of a received workbook as a file for the length of the block, then removed."""
    with tempfile.TemporaryDirectory(prefix="kaohe-upload-") as folder:
        suffix = Path(file_name).suffix.lower() if file_name else ""
        path = Path(folder) / f"upload{suffix if suffix in _SUFFIXES else '.xlsx'}"
        path.write_bytes(content)
        yield path
