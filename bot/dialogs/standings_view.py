"""/standings and /unit: the ranked list per group (with a bar chart) and one unit's breakdown.

Both are for coordinators, admins and leaders (viewers). The standings are computed from the
stored facts off the event loop (services.standings.compute_standings) after a "being
prepared" message. `/standings [group] [year | as-of date]`: the group is 镇街/town or
部门/dept (both when left out); the date (YYYY-MM-DD) means the end of that day in the plan's
time zone (as_of_day) and picks the year; a year (YYYY) is that year as of now; without either,
the assessment year (scoring.assessment_year: in January, last year's), as of now. Long lists are
split into several messages under Telegram's 4,096-character limit; each group's chart follows
as a photo. `/unit <name> [year]` shows the unit's blocks, rank, tier, every indicator and work
item; a name that matches nothing is asked again, several units are offered as buttons.

/standings is a view: it answers at once and keeps no state, so it declares no steps (`begin`
only); /unit declares its two steps (the name asked, the candidates offered).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from telegram.constants import ChatAction

from bot.dialogs.engine import Dialog, Step, Turn
from bot.dialogs.helpers import (
    ECHO,
    VIEW_ROLES,
    BadArgument,
    assessment_year,
    excerpt,
    group_name,
    now_text,
    preparing,
    preparing_action,
    send_blocks,
    today,
    web_app_buttons,
)
from scoring import Group, Plan, Standings
from scoring.assessment_year import parse_year as parse_year_word
from scoring.assessment_year import split_year
from scoring.completeness import find_gaps
from scoring.explanation import IndicatorExplanation, ItemExplanation, UnitExplanation
from scoring.groups import SHORT_NAMES, parse_group
from scoring.plan import GROUP_LABELS, YearEndSource
from services.files.charts import Chart
from services.files.charts_standings import MAX_BARS, standings_chart
from services.files.report_content import gap_lines
from services.standings import as_of_day, compute_standings
from services.unit_lookup import UnitRef, find_units
from templates import render

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# The groups' words (also offered by /help)


def group_words_offered() -> dict[str, str]:
    """The words a help text offers for the groups (scoring.groups' vocabulary)."""
    return {
        "town": GROUP_LABELS[Group.TOWN],
        "town_short": SHORT_NAMES[Group.TOWN],
        "dept": GROUP_LABELS[Group.ZONE_OR_DEPARTMENT],
        "dept_short": SHORT_NAMES[Group.ZONE_OR_DEPARTMENT],
    }


# ---------------------------------------------------------------------------------------------
# /standings


@dataclass(frozen=True)
class StandingsArgs:
    """What /standings was asked for: one group (None: both), an as-of day (None: now) and a
    year (None: the day's, else the assessment year)."""

    group: Group | None
    day: date | None
    year: int | None = None


def parse_standings_args(args: Sequence[str]) -> StandingsArgs:
    """Read `[group] [YYYY | YYYY-MM-DD]` in any order; BadArgument names the first bad word."""
    group: Group | None = None
    day: date | None = None
    year: int | None = None
    for word in args:
        key = word.strip().lower()
        named = parse_group(word)
        if named is not None and group is None:
            group = named
            continue
        if year is None and day is None and parse_year_word(key) is not None:
            year = parse_year_word(key)
            continue
        if day is None and len(key) == 10:
            try:
                day = date.fromisoformat(key)
                continue
            except ValueError:
                pass
        raise BadArgument(word)
    if year is not None and day is not None:
        raise BadArgument(str(year))  # a day names its year; both at once is ambiguous
    return StandingsArgs(group, day, year)


class StandingsDialog(Dialog):
    """/standings: the ranking of each group as text and as a bar chart (no state kept)."""

    kind = "standings"
    cancelled_key = "common.cancelled_nothing"
    command = "standings"
    roles = VIEW_ROLES

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Compute the standings and show them."""
        try:
            wanted = parse_standings_args(args)
        except BadArgument as exc:
            await turn.send(
                turn.t("coord.standings_bad_argument", got=excerpt(str(exc), ECHO))
                + "\n"
                + turn.t("coord.standings_usage", **group_words_offered())
            )
            return
        now_day = today(turn)
        if wanted.day is not None and wanted.day > now_day:
            await turn.say("coord.standings_future_date", day=wanted.day, today=now_day)
            return
        if wanted.day is not None:
            year = wanted.day.year
        else:
            year = wanted.year if wanted.year is not None else await assessment_year(turn)
        await preparing(turn, "coord.standings_preparing", year=year)
        deps = turn.context.deps
        as_of = (
            await turn.call(as_of_day, deps.read_uow(), year, wanted.day)
            if wanted.day is not None
            else None
        )
        standings: Standings = await turn.call(compute_standings, deps.read_uow(), year, as_of)
        groups = [wanted.group] if wanted.group is not None else list(Group)
        # What the data lacks comes above any ranking: a half-loaded year is not a result.
        gaps = gap_lines(find_gaps(standings), turn.who.language, html=True)
        blocks: list[str] = ["\n".join(gaps)] if gaps else []
        for group in groups:
            blocks.extend(self._group_blocks(turn, standings, group, wanted.day))
        blocks.append(turn.t("coord.standings_footer"))
        await send_blocks(turn, blocks, web_app_buttons(turn, f"/?year={year}"))
        for group in groups:
            await self._chart(turn, standings, group, wanted.day)

    def _group_blocks(
        self, turn: Turn, standings: Standings, group: Group, day: date | None
    ) -> list[str]:
        name = group_name(group, turn.who.language)
        results = standings.group(group)
        if not results:
            return [turn.t("coord.standings_empty_group", group=name)]
        header = turn.t(
            "coord.standings_header",
            group=name,
            year=standings.plan.year,
            day=day,
            now=now_text(turn, standings.plan.timezone),
            count=len(results),
        )
        lines = [
            turn.t("coord.standings_line", rank=r.rank, name=r.name, tier=r.tier, total=r.total)
            for r in results
        ]
        # The header travels with the first lines; the rest follow in as few messages as fit.
        return [header + "\n" + lines[0], *lines[1:]]

    async def _chart(
        self, turn: Turn, standings: Standings, group: Group, day: date | None
    ) -> None:
        results = standings.group(group)
        if not results:
            return
        name = group_name(group, turn.who.language)
        title = turn.plain(
            "coord.standings_chart_title",
            group=name,
            year=standings.plan.year,
            day=day,
            shown=min(len(results), MAX_BARS),
            count=len(results),
        )
        axis = turn.plain("coord.standings_chart_axis")
        try:
            chart: Chart = await turn.call(standings_chart, results, standings.plan, title, axis)
        except Exception:  # the list is already there; a chart failure must not hide it
            log.exception("the standings chart failed")
            await turn.say("coord.standings_chart_failed")
            return
        await preparing_action(turn, ChatAction.UPLOAD_PHOTO)
        await turn.context.bot.send_photo(
            turn.who.chat_id,
            photo=chart.png,
            caption=turn.t("coord.standings_chart_caption", group=name),
        )


# ---------------------------------------------------------------------------------------------
# /unit


class UnitDialog(Dialog):
    """/unit <name>: one unit's breakdown; asks for the name, offers candidates as buttons."""

    kind = "unit"
    cancelled_key = "common.cancelled_nothing"
    command = "unit"
    roles = VIEW_ROLES

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Look the unit up, or ask for its name (a year given is kept for the answer)."""
        year, words = split_year(args)
        query = " ".join(words).strip()
        if not query:
            await turn.start("name", {"year": year})
            await turn.say("coord.unit_ask")
            return
        await self._lookup(turn, query, year)

    async def _typed(self, turn: Turn, text: str) -> None:
        """A typed name (when asked, or instead of choosing a candidate)."""
        year, words = split_year(text.split())
        await self._lookup(turn, " ".join(words) or text, year or turn.data.get("year"))

    async def _ask_name(self, turn: Turn) -> None:
        await turn.say("coord.unit_ask")

    async def _chosen(self, turn: Turn, arg: str) -> None:
        """A candidate was chosen."""
        candidates = turn.data.get("candidates", [])
        if not arg.isdigit() or int(arg) >= len(candidates):
            await self.prompt(turn)
            return
        code, name = candidates[int(arg)]
        year = turn.data.get("year")
        await turn.finish()
        await self._show(turn, code, name, year)

    async def _lookup(self, turn: Turn, query: str, year: int | None) -> None:
        units: list[UnitRef] = await turn.call(find_units, turn.context.deps.read_uow(), query)
        if not units:
            if turn.state is None:
                await turn.start("name", {"year": year})
            else:
                await turn.save("name", {"year": year})
            await turn.say("coord.unit_none", query=excerpt(query, ECHO))
            return
        if len(units) == 1:
            if turn.state is not None:
                await turn.finish()
            await self._show(turn, units[0].code, units[0].name, year)
            return
        # A new version: the buttons of an older list of candidates expire.
        await turn.start(
            "choose",
            {"query": query, "candidates": [[u.code, u.name] for u in units], "year": year},
        )
        await self._offer(turn)

    async def _offer(self, turn: Turn) -> None:
        candidates = turn.data.get("candidates", [])
        buttons = [[turn.button(name, "u", str(i))] for i, (_, name) in enumerate(candidates)]
        await turn.say(
            "coord.unit_several", buttons, query=excerpt(turn.data.get("query", ""), ECHO)
        )

    async def _show(self, turn: Turn, code: str, name: str, year: int | None) -> None:
        await preparing(turn, "coord.unit_preparing", unit=name)
        if year is None:
            year = await assessment_year(turn)
        # No dialog is in progress by now: a refusal is said by the engine, nothing shown again.
        standings: Standings = await turn.call(
            compute_standings, turn.context.deps.read_uow(), year
        )
        try:
            explanation = standings.explain(code)
        except KeyError:
            await turn.say("coord.unit_not_scored", unit=name, year=year)
            return
        await send_blocks(
            turn,
            explanation_blocks(turn, standings.plan, explanation),
            web_app_buttons(turn, f"/unit/{code}?year={year}"),
        )

    steps: ClassVar[Mapping[str, Step]] = {
        "name": Step(_ask_name, text=_typed),
        "choose": Step(_offer, text=_typed, buttons={"u": _chosen}),
    }


def explanation_blocks(turn: Turn, plan: Plan, explanation: UnitExplanation) -> list[str]:
    """One unit's breakdown as blocks of HTML: header, blocks, indicators, items, bonus."""
    language = turn.who.language
    r = explanation.result
    group = group_name(r.group, language)
    blocks = [
        turn.t(
            "coord.unit_header",
            name=r.name,
            group=group,
            year=plan.year,
            now=now_text(turn, plan.timezone),
            rank=r.rank,
            size=explanation.group_size,
            tier=r.tier,
            total=r.total,
            max=explanation.max_without_bonus,
            share=r.share,
            flags=flag_words(r.flags, language),
        ),
        turn.t(
            "coord.unit_blocks",
            development=r.development if r.group is Group.TOWN else None,
            items=[{"name": i.name, "points": r.items.get(i.code, 0.0)} for i in plan.work.items],
            bonus=r.bonus,
            deductions=r.deductions,
        ),
    ]
    if explanation.indicators:
        blocks.append(
            turn.t("coord.unit_indicators_header", base=explanation.indicators[0].base_share)
        )
        blocks.extend(indicator_text(turn, i) for i in explanation.indicators)
    blocks.append(turn.t("coord.unit_items_header", daily_weight=plan.work.daily_weight))
    blocks.extend(item_text(turn, i) for i in explanation.items)
    blocks.extend(year_end_blocks(turn, plan, explanation))
    bonus = explanation.bonus
    blocks.append(
        turn.t(
            "coord.unit_bonus",
            approved=list(bonus.approved),
            not_approved=list(bonus.not_approved),
            each=bonus.points_per_item,
            cap=bonus.cap,
            points=bonus.points,
            capped=bonus.capped,
        )
    )
    return blocks


def year_end_blocks(turn: Turn, plan: Plan, explanation: UnitExplanation) -> list[str]:
    """How each item's year-end coefficient was made, when the plan weighs more than the
    panel (scoring.md §2b), and the unit's rectification evaluation when it counts or has
    findings due: the counts, the ratio and the coefficient it gave."""
    blocks = []
    if set(plan.work.year_end.sources) != {YearEndSource.PANEL}:
        blocks.append(turn.t("coord.unit_year_end_header"))
        for item in explanation.items:
            peer = item.peer
            blocks.append(
                turn.t(
                    "coord.unit_year_end",
                    name=item.name,
                    year_end=item.year_end,
                    sources=[
                        {
                            "source": s.source.value,
                            "weight": s.weight,
                            "coefficient": s.coefficient,
                        }
                        for s in item.sources
                    ],
                    votes=peer.votes if peer is not None else None,
                    trimmed=peer.trimmed if peer is not None else False,
                )
            )
    rect = explanation.rectification
    if rect is not None and (rect.weight > 0 or rect.due > 0):
        blocks.append(
            turn.t(
                "coord.unit_rectification",
                due=rect.due,
                on_time=rect.on_time,
                ratio=rect.ratio,
                grade=rect.grade.value if rect.grade is not None else None,
                coefficient=rect.coefficient,
                weight=rect.weight,
            )
        )
    return blocks


def flag_words(flags: Sequence[str], language: str) -> str:
    """Flags in words, joined."""
    separator = render("year.flag_separator", language)
    return separator.join(render(f"year.flag_{f}", language) for f in flags)


def indicator_text(turn: Turn, i: IndicatorExplanation) -> str:
    """One indicator: value, best, worst, r, points of its weight, flags in words."""
    return turn.t(
        "coord.unit_indicator",
        name=i.name,
        value=i.value,
        measure=i.measure,
        best=i.best,
        worst=i.worst,
        ratio=i.ratio,
        points=i.points,
        weight=i.weight,
        flags=flag_words(i.flags, turn.who.language),
    )


def item_text(turn: Turn, i: ItemExplanation) -> str:
    """One work item: points, coefficient, the grades used and the deductions."""
    language = turn.who.language
    grades = render("coord.unit_grade_separator", language).join(
        render(
            "coord.unit_grade",
            language,
            period=render(f"year.period_{g.period}", language),
            rater=g.rater,
            grade=render(f"coord.unit_grade_{g.grade}", language),
            coefficient=g.coefficient,
            dropped=g.dropped,
        )
        for g in i.grades
    )
    return turn.t(
        "coord.unit_item",
        name=i.name,
        points=i.points,
        weight=i.weight,
        coef=i.coef,
        daily=i.daily,
        year_end=i.year_end,
        deducted=i.deducted,
        flags=flag_words(i.flags, language),
        grades=grades,
        deductions=[
            {
                "event": render(f"year.event_{d.event.value}", language),
                "count": d.count,
                "each": d.points_each,
                "total": d.total,
            }
            for d in i.deductions
        ],
    )
