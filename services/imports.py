"""What every import shares: the slow work first, then a short write checked again inside it.

An import (units, tasks, values, grades, bonus) reads, checks and builds every row it will
store from a read-only snapshot, holding no lock; only then does it open its write transaction,
which stores the prepared rows with bulk statements and audits them. Inside that transaction it
first checks that what it was prepared against is still so (a unit deactivated, a newer version
imported, a grade recorded meanwhile): if not, nothing is written, and the import is prepared
again from the new state, up to `ATTEMPTS` times, before it is refused with a clear message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from services.errors import Refused

P = TypeVar("P")
R = TypeVar("R")

ATTEMPTS = 3
# What may change under an import, as named in the refusal (errors.import_changed_meanwhile).
UNITS, PLAN, VALUES, GRADES, BONUS, TASKS = "units", "plan", "values", "grades", "bonus", "tasks"


class ChangedMeanwhile(Exception):
    """What an import was prepared against changed before its write; raised inside the write
    transaction, which is then rolled back."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} changed while the import was prepared")


def prepared_import(kind: str, prepare: Callable[[], P], write: Callable[[P], R]) -> R:
    """`write(prepare())`, preparing again while the write finds the data changed meanwhile;
    after ATTEMPTS tries, a refusal that names what kept changing (nothing stored)."""
    what = ""
    for _ in range(ATTEMPTS):
        prepared = prepare()
        try:
            return write(prepared)
        except ChangedMeanwhile as exc:
            what = exc.what
    raise Refused("import_changed_meanwhile", kind=kind, what=what)
