"""`kaohe result`: the year's result from draft to approved to published (Art. 16).

kaohe result draft [--year Y]          freeze the standings of now as a draft result
kaohe result status [--year Y]         its state, and the units whose total or rank moved since
kaohe result publish [--year Y]        publish the approved result (as of its moment)
kaohe result approver PERSON_ID [--off]   name a leader (a viewer) as an approver, or stop

Approving or returning a draft is the approvers' own act, in the bot (/approve).
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from cli.common import handled, out, t, year_or_default
from services import wiring
from services.access import Actor
from services.results import (
    freeze_result,
    publish_result,
    result_state,
    set_approver,
)

Year = Annotated[int | None, typer.Option("--year", min=2000, max=2100, help=t("year.year_help"))]


def register(app: typer.Typer) -> None:
    """Add `result draft|status|publish|approver` to `kaohe`."""
    result_app = typer.Typer(help=t("result.cli_help"), no_args_is_help=True)
    app.add_typer(result_app, name="result")
    result_app.command("draft", help=t("result.cli_draft_help"))(draft_command)
    result_app.command("status", help=t("result.cli_status_help"))(status_command)
    result_app.command("publish", help=t("result.cli_publish_help"))(publish_command)
    result_app.command("approver", help=t("result.cli_approver_help"))(approver_command)


def draft_command(year: Year = None) -> None:
    """Freeze the standings of the year as a draft result."""
    year = year_or_default(year)
    with handled():
        view = freeze_result(wiring.unit_of_work(), Actor.operator(), year)
    as_of = view.as_of.astimezone(ZoneInfo(view.timezone)).strftime("%Y-%m-%d %H:%M")
    out.print(
        t(
            "result.cli_drafted",
            year=view.year,
            version=view.version,
            units=view.units,
            as_of=as_of,
            hash=view.snapshot_hash[:12],
        ),
        markup=False,
        soft_wrap=True,
    )


def status_command(year: Year = None) -> None:
    """The state of the year's result and what moved since it was frozen."""
    year = year_or_default(year)
    with handled():
        state = result_state(wiring.read_only_unit_of_work(), year)
    if state is None:
        out.print(t("result.cli_none", year=year), markup=False)
        return
    r = state.result
    as_of = r.as_of.astimezone(ZoneInfo(r.timezone)).strftime("%Y-%m-%d %H:%M")
    lines = [
        t(
            "result.cli_state",
            year=r.year,
            version=r.version,
            status=r.status.value,
            as_of=as_of,
            units=r.units,
            hash=r.snapshot_hash[:12],
            remarks=r.remarks,
        )
    ]
    if state.stale:
        lines.append(t("result.cli_stale", count=len(state.moved)))
        lines.extend(
            t(
                "result.cli_moved",
                name=m.name,
                rank_then=m.rank_then,
                rank_now=m.rank_now,
                total_then=m.total_then,
                total_now=m.total_now,
            )
            for m in state.moved
        )
    else:
        lines.append(t("result.cli_fresh"))
    for line in lines:
        out.print(line, markup=False, soft_wrap=True)


def publish_command(year: Year = None) -> None:
    """Publish the approved result of the year."""
    year = year_or_default(year)
    with handled():
        view = publish_result(wiring.unit_of_work(), Actor.operator(), year)
    out.print(
        t(
            "result.cli_published",
            year=view.year,
            id=view.id,
            as_of=view.as_of_local.strftime("%Y-%m-%d %H:%M"),
        ),
        markup=False,
        soft_wrap=True,
    )


def approver_command(
    person: Annotated[int, typer.Argument(help=t("result.cli_person_help"))],
    off: Annotated[bool, typer.Option("--off", help=t("result.cli_off_help"))] = False,
) -> None:
    """Name a leader as an approver, or stop."""
    with handled():
        name = set_approver(wiring.unit_of_work(), Actor.operator(), person, not off)
    key = "result.cli_approver_off" if off else "result.cli_approver_on"
    out.print(t(key, name=name), markup=False)
