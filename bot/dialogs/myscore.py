"""/myscore: the unit's published score, rank and tier, and why (every indicator and item).

Nothing is shown before the coordinators publish the year's standings (services.
publications). Then the standings are computed as of the publication's moment, off the event
loop, and the liaison sees their own unit only: total, rank within its group ("3rd of 10"), tier
and blocks; buttons open the explanation of each indicator, each work item and the bonus. The
rank among N is the only thing said about other units.

Navigation edits the message the button was on, so the chat does not fill up; a text longer than
Telegram's 4096 characters is sent in several messages instead. Computed explanations are kept a
few minutes per (publication, unit) so that tapping through them does not score the district
again each time; a newer publication (or a withdrawal) is noticed at the next tap.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

from telegram import InlineKeyboardButton
from telegram.error import BadRequest

from bot.dialogs.engine import Dialog, Step, Tapped, Turn
from bot.dialogs.helpers import (
    assessment_year,
    local_now,
    local_time,
    service_error,
)
from bot.message_split import split_messages
from scoring.explanation import IndicatorExplanation, ItemExplanation
from scoring.plan import YearEndSource
from services.access import Role
from services.errors import ServiceError
from services.publications import (
    PublicationView,
    UnitScore,
    latest_publication,
    unit_explanation,
)

# Telegram's limit of a message's text; a little is kept free for safety.
MAX_MESSAGE = 4000
INDICATORS_PER_PAGE = 12
BUTTONS_PER_ROW = 4
_CACHE = "myscore_cache"
CACHE_SECONDS = 300.0
CACHE_SIZE = 64


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """The text in pieces of at most `limit` characters, cut at line ends where possible."""
    return split_messages(text.split("\n"), limit) or [""]


def _index(arg: str) -> int:
    """The number a button carries (-1 if none)."""
    return int(arg) if arg.isdigit() else -1


# A page of the explanation: (dialog, turn, the publication in force, the unit's score, arg).
Page = Callable[[Any, Turn, PublicationView, UnitScore, str], Awaitable[None]]


def _page(show: Page) -> Tapped:
    """A button that opens a page of the publication in force (a newer one replaces the one
    the dialog was opened on, said so, with its overview; a withdrawn one ends the dialog)."""

    async def tapped(dialog: Any, turn: Turn, arg: str) -> None:
        found = await dialog._current(turn, announce=True)
        if found is not None:
            publication, score = found
            await show(dialog, turn, publication, score, arg)

    return tapped


class MyScoreDialog(Dialog):
    """/myscore: the unit's published score and its explanation."""

    kind = "myscore"
    cancelled_key = "common.cancelled_nothing"
    command = "myscore"
    roles = frozenset({Role.LIAISON})

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """The overview of the year's (or the year given) published score."""
        year = await assessment_year(turn)
        if args:
            if not (len(args) == 1 and args[0].isdigit() and len(args[0]) == 4):
                await turn.say("myscore.bad_year", value=" ".join(args)[:20])
                return
            year = int(args[0])
        publication = await turn.call(latest_publication, turn.context.deps.read_uow(), year)
        if publication is None:
            await turn.say("myscore.not_published", year=year)
            return
        await turn.start("overview", {"year": year, "pub": publication.id})
        loaded = await self._load(turn, publication)
        if loaded is not None:
            await self._overview(turn, publication, loaded, edit=False)

    async def _show_overview(self, turn: Turn) -> None:
        """The overview again, as a new message."""
        found = await self._current(turn, announce=False)
        if found is not None:
            await self._overview(turn, *found, edit=False)

    # -- data -------------------------------------------------------------------------------

    async def _current(
        self, turn: Turn, announce: bool
    ) -> tuple[PublicationView, UnitScore] | None:
        """The publication in force for the dialog's year and the unit's score in it; a newer
        publication replaces the one the dialog was opened on (said so if `announce`)."""
        year = int(turn.data.get("year", local_now(turn).year))
        publication = await turn.call(latest_publication, turn.context.deps.read_uow(), year)
        if publication is None:
            await turn.finish()
            await turn.say("myscore.not_published", year=year)
            return None
        if publication.id != turn.data.get("pub"):
            await turn.save("overview", {**turn.data, "pub": publication.id})
            if announce:
                await turn.say("myscore.republished")
                loaded = await self._load(turn, publication)
                if loaded is not None:
                    await self._overview(turn, publication, loaded, edit=False)
                return None
        loaded = await self._load(turn, publication)
        return None if loaded is None else (publication, loaded)

    async def _load(self, turn: Turn, publication: PublicationView) -> UnitScore | None:
        """The unit's score in a publication: from the cache, or computed off the event loop."""
        actor = turn.who.actor
        cache: OrderedDict[tuple[int, int | None], tuple[float, UnitScore]]
        cache = turn.context.bot_data.setdefault(_CACHE, OrderedDict())
        key = (publication.id, actor.unit_id)
        hit = cache.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        try:
            score: UnitScore = await turn.call(
                unit_explanation, turn.context.deps.read_uow(), actor, publication.id
            )
        except ServiceError as exc:
            await turn.finish()
            await service_error(turn, exc)
            return None
        cache[key] = (now, score)
        cache.move_to_end(key)
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
        return score

    # -- pages ------------------------------------------------------------------------------

    async def _overview(
        self, turn: Turn, publication: PublicationView, score: UnitScore, *, edit: bool
    ) -> None:
        explanation = score.explanation
        result = explanation.result
        text = turn.t(
            "myscore.overview",
            year=publication.year,
            period=publication.period,
            as_of=publication.as_of_local.strftime("%Y-%m-%d %H:%M"),
            published=local_time(turn, publication.published_at),
            unit=turn.who.unit_name or result.name,
            total=result.total,
            maximum=explanation.max_without_bonus,
            share=result.share,
            rank=result.rank,
            size=explanation.group_size,
            group=result.group.value,
            tier=result.tier,
            development=result.development if explanation.indicators else None,
            development_max=sum(i.weight for i in explanation.indicators),
            items=[
                {"name": i.name, "points": i.points, "weight": i.weight} for i in explanation.items
            ],
            bonus=result.bonus,
            deductions=result.deductions,
            flags=list(result.flags),
        )
        buttons: list[list[InlineKeyboardButton]] = []
        if explanation.indicators:
            label = turn.plain("myscore.indicators_button", count=len(explanation.indicators))
            buttons.append([turn.button(label, "ip", "0")])
        buttons.extend(
            [turn.button(turn.plain("myscore.item_button", name=item.name), "it", str(j))]
            for j, item in enumerate(explanation.items)
        )
        buttons.append([turn.button(turn.plain("myscore.bonus_button"), "b")])
        await self._show(turn, text, buttons, edit=edit)

    async def _indicator_list(self, turn: Turn, score: UnitScore, page: int) -> None:
        indicators = score.explanation.indicators
        pages = (len(indicators) + INDICATORS_PER_PAGE - 1) // INDICATORS_PER_PAGE
        page = min(page, pages - 1)
        first = page * INDICATORS_PER_PAGE
        shown = indicators[first : first + INDICATORS_PER_PAGE]
        text = turn.t(
            "myscore.indicator_list",
            rows=[
                {
                    "number": first + k + 1,
                    "name": ind.name,
                    "points": ind.points,
                    "weight": ind.weight,
                    "flagged": bool(ind.flags),
                }
                for k, ind in enumerate(shown)
            ],
            total=sum(i.points for i in indicators),
            maximum=sum(i.weight for i in indicators),
            page=page + 1,
            pages=pages,
        )
        numbered = [
            turn.button(str(first + k + 1), "i", str(first + k)) for k in range(len(shown))
        ]
        buttons = [
            numbered[i : i + BUTTONS_PER_ROW] for i in range(0, len(numbered), BUTTONS_PER_ROW)
        ]
        nav = []
        if page > 0:
            nav.append(turn.button(turn.plain("myscore.previous_page"), "ip", str(page - 1)))
        if page < pages - 1:
            nav.append(turn.button(turn.plain("myscore.next_page"), "ip", str(page + 1)))
        if nav:
            buttons.append(nav)
        buttons.append([turn.button(turn.plain("myscore.overview_button"), "ov")])
        await self._show(turn, text, buttons, edit=True)

    async def _indicator(self, turn: Turn, score: UnitScore, index: int) -> None:
        indicators = score.explanation.indicators
        ind: IndicatorExplanation = indicators[index]
        text = turn.t(
            "myscore.indicator",
            number=index + 1,
            count=len(indicators),
            name=ind.name,
            category=score.categories.get(ind.category, ind.category),
            measure=ind.measure,
            direction=ind.direction.value,
            weight=ind.weight,
            base_share=ind.base_share,
            fixed_bounds=ind.fixed_bounds,
            value=ind.value,
            best=ind.best,
            worst=ind.worst,
            ratio=ind.ratio,
            points=ind.points,
            flags=list(ind.flags),
            when_all_equal=score.when_all_equal,
            missing_value=score.missing_value,
        )
        nav = []
        if index > 0:
            nav.append(turn.button(turn.plain("myscore.previous_indicator"), "i", str(index - 1)))
        if index < len(indicators) - 1:
            nav.append(turn.button(turn.plain("myscore.next_indicator"), "i", str(index + 1)))
        buttons = [nav] if nav else []
        page = index // INDICATORS_PER_PAGE
        buttons.append(
            [
                turn.button(turn.plain("myscore.list_button"), "ip", str(page)),
                turn.button(turn.plain("myscore.overview_button"), "ov"),
            ]
        )
        await self._show(turn, text, buttons, edit=True)

    async def _item(self, turn: Turn, score: UnitScore, index: int) -> None:
        item: ItemExplanation = score.explanation.items[index]
        periods = []
        for mean in item.periods:
            grades = [g for g in item.grades if g.period == mean.period]
            periods.append(
                {
                    "period": mean.period,
                    "kept": [g.grade for g in grades if not g.dropped],
                    "dropped": [g.grade for g in grades if g.dropped],
                    "raters": mean.raters,
                    "mean": mean.mean,
                }
            )
        text = turn.t(
            "myscore.item",
            name=item.name,
            weight=item.weight,
            periods=periods,
            daily=item.daily,
            year_end=item.year_end,
            daily_weight=item.daily_weight,
            coef=item.coef,
            raw=item.raw_points,
            deductions=[
                {
                    "event": d.event.value,
                    "count": d.count,
                    "each": d.points_each,
                    "total": d.total,
                }
                for d in item.deductions
            ],
            deducted=item.deducted,
            points=item.points,
            flags=list(item.flags),
            trim_above=score.trim_above,
        )
        if any(s.source is not YearEndSource.PANEL for s in item.sources):
            rect = score.explanation.rectification
            counted = any(s.source is YearEndSource.RECTIFICATION for s in item.sources)
            text += "\n" + turn.t(
                "myscore.item_year_end",
                sources=[
                    {"source": s.source.value, "weight": s.weight, "coefficient": s.coefficient}
                    for s in item.sources
                ],
                votes=item.peer.votes if item.peer is not None else None,
                trimmed=item.peer.trimmed if item.peer is not None else False,
                rect=(
                    {
                        "due": rect.due,
                        "on_time": rect.on_time,
                        "ratio": rect.ratio,
                        "grade": rect.grade.value if rect.grade is not None else None,
                        "coefficient": rect.coefficient,
                    }
                    if rect is not None and counted
                    else None
                ),
            )
        buttons = [[turn.button(turn.plain("myscore.overview_button"), "ov")]]
        await self._show(turn, text, buttons, edit=True)

    async def _bonus(self, turn: Turn, score: UnitScore) -> None:
        bonus = score.explanation.bonus
        text = turn.t(
            "myscore.bonus",
            approved=list(bonus.approved),
            not_approved=list(bonus.not_approved),
            each=bonus.points_per_item,
            cap=bonus.cap,
            points=bonus.points,
            capped=bonus.capped,
        )
        buttons = [[turn.button(turn.plain("myscore.overview_button"), "ov")]]
        await self._show(turn, text, buttons, edit=True)

    # -- buttons: each opens a page of the explanation in the message tapped -----------------

    async def _indicators_tapped(
        self, turn: Turn, publication: PublicationView, score: UnitScore, arg: str
    ) -> None:
        if not score.explanation.indicators:
            await self._overview(turn, publication, score, edit=True)
            return
        await self._indicator_list(turn, score, max(_index(arg), 0))

    async def _indicator_tapped(
        self, turn: Turn, publication: PublicationView, score: UnitScore, arg: str
    ) -> None:
        index = _index(arg)
        if not 0 <= index < len(score.explanation.indicators):
            await self._overview(turn, publication, score, edit=True)
            return
        await self._indicator(turn, score, index)

    async def _item_tapped(
        self, turn: Turn, publication: PublicationView, score: UnitScore, arg: str
    ) -> None:
        index = _index(arg)
        if not 0 <= index < len(score.explanation.items):
            await self._overview(turn, publication, score, edit=True)
            return
        await self._item(turn, score, index)

    async def _bonus_tapped(
        self, turn: Turn, publication: PublicationView, score: UnitScore, arg: str
    ) -> None:
        await self._bonus(turn, score)

    async def _overview_tapped(
        self, turn: Turn, publication: PublicationView, score: UnitScore, arg: str
    ) -> None:
        await self._overview(turn, publication, score, edit=True)

    async def _show(
        self, turn: Turn, text: str, buttons: list[list[InlineKeyboardButton]], *, edit: bool
    ) -> None:
        """Edit the message the button was on when the text fits one message, else send it
        (in pieces if it must be; the buttons go with the last piece)."""
        pieces = split_text(text)
        # getattr: a turn made for typed text may not carry the Update itself.
        query = getattr(turn.update, "callback_query", None)
        message = query.message if query is not None else None
        if edit and message is not None and len(pieces) == 1:
            try:
                await turn.edit(message.message_id, pieces[0], buttons)
                return
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    return
                # Too old to edit, or deleted: send it anew.
        for piece in pieces[:-1]:
            await turn.send(piece)
        await turn.send(pieces[-1], buttons)

    steps: ClassVar[Mapping[str, Step]] = {
        "overview": Step(
            _show_overview,
            buttons={
                "ip": _page(_indicators_tapped),
                "i": _page(_indicator_tapped),
                "it": _page(_item_tapped),
                "b": _page(_bonus_tapped),
                "ov": _page(_overview_tapped),
            },
        ),
    }
