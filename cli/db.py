"""Commands for the database itself: migrate, load a plan, verify the audit log, back up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import check_output, fail, handled, out, t, writing
from services import wiring
from services.access import Actor
from services.files.plan_file import PlanFileError
from services.plans import load_plan
from storage import migrate
from storage.audit import verify
from storage.backup import backup, backup_contents


def register(app: typer.Typer) -> None:
    """Add `db upgrade`, `audit verify` and `backup` to the `kaohe` command."""
    db_app = typer.Typer(help=t("db.db_help"), no_args_is_help=True)
    audit_app = typer.Typer(help=t("db.audit_help"), no_args_is_help=True)
    app.add_typer(db_app, name="db")
    app.add_typer(audit_app, name="audit")
    db_app.command("upgrade", help=t("db.upgrade_help"))(db_upgrade)
    audit_app.command("verify", help=t("db.verify_help"))(audit_verify)
    app.command("backup", help=t("db.backup_help"))(backup_command)


def register_plan(plan_app: typer.Typer) -> None:
    """Add `plan load` to the `kaohe plan` group."""
    plan_app.command("load", help=t("db.plan_load_help"))(plan_load)


def db_upgrade() -> None:
    """Create or update the database schema, keeping every row."""
    with handled():
        database = wiring.database()
        before = migrate.current_revision(database)
        migrate.upgrade(database)
        after = migrate.current_revision(database)
    out.print(t("db.upgraded", before=before or "-", after=after or "-"))


def plan_load(path: Annotated[Path, typer.Argument(help="PLAN.yaml")]) -> None:
    """Store a plan as the newest version of its year."""
    with handled():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PlanFileError(str(path), "file_missing", {"file": str(path)}) from exc
        loaded = load_plan(wiring.unit_of_work(), Actor.operator(), text, str(path))
    out.print(t("db.plan_loaded", year=loaded.year, version=loaded.version))


def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 if any entry was edited or deleted."""
    with handled(), wiring.read_only_unit_of_work() as uow:
        breaks = verify(uow.session)
    if not breaks:
        out.print(t("db.audit_ok"))
        return
    fail([t(f"db.audit_{b.code}", entry=b.entry_id) for b in breaks], status=1)


def backup_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="FILE.db")],
    force: Annotated[bool, typer.Option("--force")] = False,
) -> None:
    """Write a consistent copy of the database (an SQLite file) while kaohe runs."""
    check_output(output, force)
    with handled(), writing(output):
        backup(wiring.database(), output)
    tables, rows = backup_contents(output)
    size = output.stat().st_size
    out.print(
        t("db.backup_written", file=str(output), tables=tables, rows=rows, size=size),
        markup=False,
    )
