"""Commands of the evidence archive: `evidence prune`."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import fail, handled, out, t
from cli.people import parse_duration
from services import wiring
from services.access import Actor
from services.evidence import prune_evidence
from services.settings import get_settings
from storage.archive import EvidenceArchive

DEFAULT_AGE = "7d"


def register(app: typer.Typer) -> None:
    """Add `evidence prune` to `kaohe`."""
    evidence_app = typer.Typer(help=t("evidence.evidence_help"), no_args_is_help=True)
    app.add_typer(evidence_app, name="evidence")
    evidence_app.command("prune", help=t("evidence.prune_help"))(evidence_prune)


def evidence_prune(
    older_than: Annotated[
        str, typer.Option("--older-than", help=t("evidence.opt_older_than"))
    ] = DEFAULT_AGE,
) -> None:
    """Remove stored evidence that no record refers to (files of dialogs cancelled or left)."""
    age = parse_duration(older_than)
    if age is None:
        fail([t("people.bad_expiry", value=older_than)])
    archive = EvidenceArchive(get_settings().resolved_archive_dir)
    with handled():
        removed = prune_evidence(wiring.unit_of_work(), Actor.operator(), archive, age)
    out.print(
        t(
            "evidence.pruned",
            rows=removed.rows,
            files=removed.files,
            mb=removed.bytes / 1024 / 1024,
            older_than=older_than,
        ),
        markup=False,
    )
