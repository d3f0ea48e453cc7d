"""`kaohe publish`: make a year's (or a quarter's) standings visible to the units' liaisons.

kaohe publish [--year Y] [--period year|Q1..Q4] [--as-of YYYY-MM-DD]
kaohe publish [--year Y] --list
kaohe publish [--year Y] --withdraw ID
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from cli.common import fail, handled, out, t, year_or_default
from services import wiring
from services.access import Actor
from services.publications import (
    PublicationView,
    publish_standings,
    withdraw_publication,
    year_publications,
)

Year = Annotated[
    int | None, typer.Option("--year", min=2000, max=2100, help=t("myscore.cli_year_help"))
]


def register(app: typer.Typer) -> None:
    """Add `publish` to `kaohe`."""
    app.command("publish", help=t("myscore.cli_publish_help"))(publish_command)


def publish_command(
    year: Year = None,
    period: Annotated[str, typer.Option("--period", help=t("myscore.cli_period_help"))] = "year",
    as_of: Annotated[str | None, typer.Option("--as-of", help=t("myscore.cli_as_of_help"))] = None,
    list_only: Annotated[bool, typer.Option("--list", help=t("myscore.cli_list_help"))] = False,
    withdraw: Annotated[
        int | None, typer.Option("--withdraw", help=t("myscore.cli_withdraw_help"))
    ] = None,
) -> None:
    """Publish the standings of a year (or quarter); list or withdraw publications."""
    year = year_or_default(year)
    if list_only:
        with handled():
            publications = year_publications(
                wiring.read_only_unit_of_work(), Actor.operator(), year
            )
        _print_list(year, publications)
        return
    if withdraw is not None:
        with handled():
            view = withdraw_publication(wiring.unit_of_work(), Actor.operator(), withdraw)
        out.print(t("myscore.cli_withdrawn", id=view.id, year=view.year), markup=False)
        return
    day = _day(as_of) if as_of is not None else None
    with handled():
        view = publish_standings(
            wiring.unit_of_work(), Actor.operator(), year, period.strip() or "year", day
        )
    out.print(
        t(
            "myscore.cli_published",
            id=view.id,
            year=view.year,
            period=view.period,
            as_of=view.as_of_local.strftime("%Y-%m-%d %H:%M"),
        ),
        markup=False,
        soft_wrap=True,
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail([t("myscore.cli_bad_date", value=text)])


def _print_list(year: int, publications: list[PublicationView]) -> None:
    if not publications:
        out.print(t("myscore.cli_none", year=year), markup=False)
        return
    table = Table(title=t("myscore.cli_list_title", year=year))
    for key in ("col_id", "col_period", "col_as_of", "col_published", "col_state"):
        table.add_column(t(f"myscore.cli_{key}"))
    in_force = next((p.id for p in reversed(publications) if not p.withdrawn), None)
    for p in publications:
        state = "withdrawn" if p.withdrawn else "in_force" if p.id == in_force else "superseded"
        table.add_row(
            str(p.id),
            t("myscore.period_name", period=p.period),
            p.as_of_local.strftime("%Y-%m-%d %H:%M"),
            p.published_at.astimezone(p.as_of_local.tzinfo).strftime("%Y-%m-%d %H:%M"),
            t(f"myscore.cli_state_{state}"),
        )
    out.print(table)
