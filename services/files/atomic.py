"""Writing a workbook atomically: the one way every template writer creates its file."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.workbook import Workbook


def write_workbook_atomically(path: Path, fill: Callable[[Workbook], None]) -> None:
    """Write the workbook `fill` makes to `path` through a temporary file in the same folder,
    so no half-written file is left.

    A file that cannot be created raises the underlying `OSError`, as `open` would.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    book = xlsxwriter.Workbook(str(tmp))
    try:
        fill(book)
        try:
            book.close()
        except FileCreateError as exc:
            cause = exc.args[0] if exc.args else None
            raise cause if isinstance(cause, OSError) else OSError(str(exc)) from exc
        tmp.replace(path)
    except BaseException:
        # Close quietly so that xlsxwriter does not complain later; the file is dropped anyway.
        with contextlib.suppress(Exception):
            if not book.fileclosed:
                book.close()
        tmp.unlink(missing_ok=True)
        raise
