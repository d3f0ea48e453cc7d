"""A long import's progress on the terminal: a Rich bar on stderr, nothing when not a terminal.

`progress_steps()` yields `step(label, total)`: each call starts the next phase (reading the
workbook, writing the rows) and returns its `advance(done, total)` callback, which the
services call as they go. A phase of unknown length shows a spinner and the time elapsed.
The display is transient (it is gone once the import ends) and disabled when stderr is not a
terminal, so that a log or a pipe gets the summary alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cli.common import err

Step = Callable[[str, int | None], Callable[[int, int], None]]


@contextmanager
def progress_steps() -> Iterator[Step]:
    """The progress display of one import (see the module)."""
    from rich.progress import (  # here: only imports pay for it
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        # Not a "{task.total:,}" text column: a phase of unknown length has no total.
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    current: list[TaskID] = []

    def step(label: str, total: int | None) -> Callable[[int, int], None]:
        if current:
            progress.update(current[-1], visible=False)
        task = progress.add_task(label, total=total)
        current.append(task)

        def advance(done: int, of: int) -> None:
            progress.update(task, completed=done, total=of)

        return advance

    with progress:
        yield step
