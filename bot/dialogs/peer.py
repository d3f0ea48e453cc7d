"""/peer: the peer rating (互评) of a year, for liaisons and coordinators.

Liaisons: /peer shows the open round of their group: an intro with how far their unit is, then
one card per other unit of the group and per item peers rate, each with the four grades; one
tap records the unit's vote (services.peer.cast_vote) and the card shows it (✓). A tap on
another grade changes the vote until the round closes. Cards come in pages of PAGE_SIZE, so a
large group does not flood the chat; /peer again shows them afresh (older cards then expire).
A liaison sees their own unit's votes only.

Coordinators: `/peer open [year]` (year, group and vote-by day by buttons, then a confirmation),
`/peer status [year]` (counts of units done, partly done and not started first; the units behind
a button; a button to remind those with cards left, through the reminder job) and
`/peer close [year]` (which open round, then a confirmation; votes are frozen). /peer alone
offers the three.

Decisions:
- The year is a button among the years whose plan weighs peers (or the one named); the
  round of year Y is held in January-March of Y+1, so the calendar year is not assumed.
- The dialog ends before a round is opened or closed, so a double tap on "confirm" finds its
  button expired rather than acting twice; the services refuse a second open or close anyway.
- A service's refusal is said by the engine, which shows the step again, except at the cards
  and the status (`refused`): their messages stay above, and they are only said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, ClassVar

from telegram import InlineKeyboardButton

from bot.dialogs.engine import Dialog, Step, Tapped, Turn
from bot.dialogs.helpers import assessment_year, local_now, send_blocks, service_error
from scoring import Grade, Group
from services.access import Role
from services.errors import ServiceError
from services.peer import (
    DONE,
    NOT_STARTED,
    PARTLY,
    Ballot,
    Card,
    RoundStatus,
    RoundView,
    all_rounds,
    ballots,
    cast_vote,
    close_round,
    open_round,
    peer_years,
    round_status,
)
from services.plans import current_plan
from services.reminders import remind_peer_voters
from services.unit_lookup import all_units

# Cards sent at a time: a group of forty departments does not arrive as forty messages at once.
PAGE_SIZE = 10
# Vote-by choices offered when opening a round, in days from today (0: no vote-by day).
VOTE_BY_DAYS = (3, 7, 14, 0)
_GRADE_CODES = {"e": Grade.EXCELLENT, "g": Grade.GOOD, "f": Grade.FAIR, "p": Grade.POOR}
_CODE_OF = {grade: code for code, grade in _GRADE_CODES.items()}
SUBCOMMANDS = ("open", "status", "close")


def _parse(args: Sequence[str]) -> tuple[str | None, int | None] | None:
    """(subcommand, year) of `/peer [open|status|close] [year]`; None if it does not read."""
    sub: str | None = None
    year: int | None = None
    for arg in args:
        word = arg.strip().lower()
        if word in SUBCOMMANDS and sub is None:
            sub = word
        elif len(word) == 4 and word.isdigit() and year is None:
            year = int(word)
        else:
            return None
    return sub, year


class PeerDialog(Dialog):
    """/peer: a liaison's cards; a coordinator's open, status and close."""

    kind = "peer"
    command = "peer"
    roles = frozenset({Role.COORDINATOR, Role.ADMIN, Role.LIAISON})
    takes_files = False
    live_actions = frozenset({"dt", "rm"})  # the status message's details and remind buttons

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """A liaison gets their cards; a coordinator what they asked for."""
        parsed = _parse(args)
        if parsed is None:
            await turn.say("peer.usage")
            return
        sub, year = parsed
        if turn.who.actor.role is Role.LIAISON:
            if sub is not None:  # open/status/close are the coordinators'; never ignored
                await turn.say("peer.usage")
                return
            await self._liaison_begin(turn, year)
        elif sub == "open":
            await self._open_begin(turn, year)
        elif sub == "status":
            await self._status_begin(turn, year)
        elif sub == "close":
            await self._close_begin(turn, year)
        else:
            await turn.start("menu", {})
            await self.prompt(turn)

    async def refused(self, turn: Turn, exc: ServiceError) -> None:
        """At the cards and at the status, a refusal (the round closed meanwhile …) is only
        said: the cards and the status messages above stay as they are, and showing the step
        again would invite taps they can no longer take."""
        if turn.step in ("cards", "status"):
            await turn.refused(exc)
            return
        await super().refused(turn, exc)

    async def _show_menu(self, turn: Turn) -> None:
        buttons = [[turn.button(turn.plain(f"peer.menu_{s}"), "m", s)] for s in SUBCOMMANDS]
        await turn.say("peer.menu", buttons)

    async def _cancel(self, turn: Turn, arg: str) -> None:
        await turn.finish()
        await turn.say("peer.cancelled")

    async def _menu(self, turn: Turn, arg: str) -> None:
        if arg == "open":
            await self._open_begin(turn, None)
        elif arg == "status":
            await self._status_begin(turn, None)
        elif arg == "close":
            await self._close_begin(turn, None)

    # --- liaisons: the cards ------------------------------------------------------------------

    async def _ballots(self, turn: Turn) -> list[Ballot]:
        found: list[Ballot] = await turn.call(
            ballots, turn.context.deps.read_uow(), turn.who.actor
        )
        return found

    async def _liaison_begin(self, turn: Turn, year: int | None) -> None:
        found = await self._ballots(turn)
        if year is not None:
            found = [b for b in found if b.round.year == year]
        if not found:
            await turn.say("peer.none_open", year=year)
            return
        if len(found) > 1:
            await turn.start("ballot_year", {"years": [b.round.year for b in found]})
            await self.prompt(turn)
            return
        await turn.start("cards", {"year": found[0].round.year, "page": 0})
        await self._send_cards(turn, found[0], 0, intro=True)

    async def _ask_ballot_year(self, turn: Turn) -> None:
        buttons = [[turn.button(str(y), "by", str(y))] for y in turn.data["years"]]
        await turn.say("peer.choose_ballot_year", buttons)

    async def _cards_prompt(self, turn: Turn) -> None:
        await turn.say("peer.cards_prompt", year=turn.data["year"])

    async def _ballot_year(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        await turn.save("cards", {"year": int(arg), "page": 0})
        await self._show_ballot(turn, 0, intro=True)

    async def _page(self, turn: Turn, arg: str) -> None:
        page = int(arg) if arg.isdigit() else 0
        await turn.save("cards", {**turn.data, "page": page})
        await self._show_ballot(turn, page, intro=False)

    async def _show_ballot(self, turn: Turn, page: int, intro: bool) -> None:
        found = await self._ballots(turn)
        ballot = next((b for b in found if b.round.year == int(turn.data["year"])), None)
        if ballot is None:
            await turn.finish()
            await turn.say("peer.none_open", year=turn.data["year"])
            return
        await self._send_cards(turn, ballot, page, intro)

    async def _send_cards(self, turn: Turn, ballot: Ballot, page: int, intro: bool) -> None:
        cards = ballot.cards
        pages = max(1, -(-len(cards) // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        if intro:
            view = ballot.round
            await turn.say(
                "peer.intro",
                year=view.year,
                group=view.group,
                unit=ballot.unit_name,
                items=[name for _, name in view.items],
                units=len({c.unit_id for c in cards}),
                done=ballot.done,
                total=len(cards),
                vote_by=view.vote_by.isoformat() if view.vote_by else None,
            )
        codes = [code for code, _ in ballot.round.items]
        for card in cards[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
            buttons = self._card_buttons(turn, ballot.round.year, codes.index(card.item), card)
            await turn.send(self._card_text(turn, card), buttons)
        if pages > 1:
            nav = []
            if page > 0:
                nav.append(turn.button(turn.plain("peer.page_previous"), "pg", str(page - 1)))
            if page < pages - 1:
                nav.append(turn.button(turn.plain("peer.page_next"), "pg", str(page + 1)))
            await turn.say("peer.page", [nav], page=page + 1, pages=pages)

    def _card_text(self, turn: Turn, card: Card) -> str:
        grade = card.grade.value if card.grade is not None else None
        return turn.t("peer.card", unit=card.unit_name, item=card.item_name, grade=grade)

    def _card_buttons(
        self, turn: Turn, year: int, index: int, card: Card
    ) -> list[list[InlineKeyboardButton]]:
        row = []
        for grade in Grade:
            label = turn.plain("peer.grade_button", grade=grade.value, chosen=grade == card.grade)
            arg = f"{year}:{card.unit_id}:{index}:{_CODE_OF[grade]}"
            row.append(turn.button(label, "v", arg))
        return [row]

    async def _vote(self, turn: Turn, arg: str) -> None:
        parts = arg.split(":")
        if (
            len(parts) != 4
            or not all(p.isdigit() for p in parts[:3])
            or parts[3] not in _GRADE_CODES
        ):
            await self.prompt(turn)
            return
        year, unit_id, index = (int(p) for p in parts[:3])
        plan = await turn.call(current_plan, turn.context.deps.read_uow(), year)
        names = {item.code: item.name for item in plan.work.items}
        items = [(code, names.get(code, code)) for code in plan.work.year_end.peer_items]
        if index >= len(items):
            await turn.say("peer.card_outdated")
            return
        item, item_name = items[index]
        vote = await turn.call(
            cast_vote,
            turn.context.deps.uow(),
            turn.who.actor,
            year,
            unit_id,
            item,
            _GRADE_CODES[parts[3]],
        )
        card = Card(unit_id, vote.unit_name, item, item_name, vote.grade)
        query = turn.update.callback_query
        if query is not None and query.message is not None:
            await turn.edit(
                query.message.message_id,
                self._card_text(turn, card),
                self._card_buttons(turn, year, index, card),
            )
        if vote.changed and vote.done == vote.total:
            await turn.say("peer.all_done", total=vote.total, year=year)

    # --- coordinators: opening ----------------------------------------------------------------

    async def _open_begin(self, turn: Turn, year: int | None) -> None:
        years: list[int] = await turn.call(peer_years, turn.context.deps.read_uow())
        if year is None and (meant := await assessment_year(turn)) in years:
            year = meant  # the assessment year, when its plan has peers; else a choice
        if year is not None:
            if year not in years:
                await turn.say("errors.peer_not_in_plan", year=year)
                return
            years = [year]
        if not years:
            await turn.say("peer.no_peer_plan")
            return
        if len(years) == 1:
            await turn.start("open_group", {"year": years[0]})
        else:
            await turn.start("open_year", {"years": years[:3]})
        await self.prompt(turn)

    async def _ask_open_year(self, turn: Turn) -> None:
        buttons = [[turn.button(str(y), "oy", str(y))] for y in turn.data["years"]]
        await turn.say("peer.choose_year", buttons)

    async def _open_year(self, turn: Turn, arg: str) -> None:
        await turn.save("open_group", {"year": int(arg)})
        await self.prompt(turn)

    async def _ask_group(self, turn: Turn) -> None:
        year = int(turn.data["year"])
        units = await turn.call(all_units, turn.context.deps.read_uow())
        taken = {r.group for r in await self._rounds(turn) if r.year == year}
        buttons = []
        for group in Group:
            count = sum(1 for u in units if u.group == group.value)
            if count >= 2 and group.value not in taken:
                label = turn.plain("peer.group_button", group=group.value, count=count)
                buttons.append([turn.button(label, "og", group.value)])
        if not buttons:
            await turn.finish()
            await turn.say("peer.no_group_to_open", year=year)
            return
        await turn.say("peer.choose_group", buttons, year=year)

    async def _rounds(self, turn: Turn) -> list[RoundView]:
        rounds: list[RoundView] = await turn.call(all_rounds, turn.context.deps.read_uow())
        return rounds

    async def _open_group(self, turn: Turn, arg: str) -> None:
        if arg not in {g.value for g in Group}:
            await self.prompt(turn)
            return
        await turn.save("open_by", {**turn.data, "group": arg})
        await self.prompt(turn)

    async def _ask_vote_by(self, turn: Turn) -> None:
        today = local_now(turn).date()
        row = []
        for days in VOTE_BY_DAYS:
            day = (today + timedelta(days=days)).isoformat() if days else ""
            label = turn.plain("peer.vote_by_button", days=days, day=day)
            row.append(turn.button(label, "ob", day))
        await turn.say("peer.choose_vote_by", [row[:2], row[2:]], year=turn.data["year"])

    async def _open_by(self, turn: Turn, arg: str) -> None:
        await turn.save("open_confirm", {**turn.data, "vote_by": arg or None})
        await self.prompt(turn)

    async def _confirm_open(self, turn: Turn) -> None:
        data = turn.data
        units = await turn.call(all_units, turn.context.deps.read_uow())
        count = sum(1 for u in units if u.group == data["group"])
        buttons = [
            [
                turn.button(turn.plain("peer.confirm_open_button"), "ok"),
                turn.button(turn.plain("peer.cancel_button"), "no"),
            ]
        ]
        await turn.say(
            "peer.confirm_open",
            buttons,
            year=data["year"],
            group=data["group"],
            units=count,
            cards=count - 1,
            vote_by=data.get("vote_by"),
        )

    async def _open_confirmed(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        await turn.finish()
        vote_by = date.fromisoformat(data["vote_by"]) if data.get("vote_by") else None
        view = await turn.call(
            open_round,
            turn.context.deps.uow(),
            turn.who.actor,
            int(data["year"]),
            data["group"],
            vote_by,
        )
        await turn.say(
            "peer.opened",
            year=view.year,
            group=view.group,
            items=[name for _, name in view.items],
            vote_by=view.vote_by.isoformat() if view.vote_by else None,
        )

    # --- coordinators: who has voted ----------------------------------------------------------

    async def _status_begin(self, turn: Turn, year: int | None) -> None:
        rounds = await self._rounds(turn)
        if year is None and rounds:
            meant = await assessment_year(turn)
            # The assessment year's rounds; else those of the newest year with a round.
            year = meant if any(r.year == meant for r in rounds) else rounds[0].year
        if year is None or not any(r.year == year for r in rounds):
            await turn.say("peer.no_rounds", year=year)
            return
        await turn.start("status", {"year": year})
        await self.prompt(turn)

    async def _statuses(self, turn: Turn, year: int) -> list[RoundStatus]:
        out = []
        for view in await self._rounds(turn):
            if view.year != year:
                continue
            out.append(
                await turn.call(
                    round_status, turn.context.deps.read_uow(), turn.who.actor, year, view.group
                )
            )
        return out

    async def _show_status(self, turn: Turn) -> None:
        statuses = await self._statuses(turn, int(turn.data["year"]))
        for status in statuses:
            view = status.round
            buttons = [[turn.button(turn.plain("peer.details_button"), "dt", view.group)]]
            if view.status == "open" and status.count(DONE) < len(status.units):
                buttons[0].append(turn.button(turn.plain("peer.remind_button"), "rm", view.group))
            await turn.say(
                "peer.status",
                buttons,
                year=view.year,
                group=view.group,
                open=view.status == "open",
                vote_by=view.vote_by.isoformat() if view.vote_by else None,
                done=status.count(DONE),
                partly=status.count(PARTLY),
                not_started=status.count(NOT_STARTED),
                units=len(status.units),
            )

    async def _details(self, turn: Turn, arg: str) -> None:
        statuses = await self._statuses(turn, int(turn.data["year"]))
        status = next((s for s in statuses if s.round.group == arg), None)
        if status is None:
            await self.prompt(turn)
            return
        order = {NOT_STARTED: 0, PARTLY: 1, DONE: 2}
        lines = [
            turn.t(
                "peer.detail_line", unit=u.unit_name, voted=u.voted, cards=u.cards, state=u.state
            )
            for u in sorted(status.units, key=lambda u: (order[u.state], u.unit_name))
        ]
        header = turn.t("peer.details", year=status.round.year, group=status.round.group)
        await send_blocks(turn, [header, *lines])

    async def _remind(self, turn: Turn, arg: str) -> None:
        result = await turn.call(
            remind_peer_voters,
            turn.context.deps.uow(),
            turn.who.actor,
            int(turn.data["year"]),
            arg,
        )
        await turn.say(
            "peer.reminded",
            units=result.units,
            liaisons=result.liaisons,
            already=result.already,
        )

    # --- coordinators: closing ----------------------------------------------------------------

    async def _close_begin(self, turn: Turn, year: int | None) -> None:
        rounds = [
            r
            for r in await self._rounds(turn)
            if r.status == "open" and (year is None or r.year == year)
        ]
        if not rounds:
            await turn.say("peer.none_to_close", year=year)
            return
        await turn.start("close_pick", {"rounds": [[r.year, r.group] for r in rounds]})
        await self.prompt(turn)

    async def _ask_close(self, turn: Turn) -> None:
        buttons = [
            [
                turn.button(
                    turn.plain("peer.round_button", year=year, group=group),
                    "cp",
                    f"{year}:{group}",
                )
            ]
            for year, group in turn.data["rounds"]
        ]
        await turn.say("peer.choose_close", buttons)

    async def _close_pick(self, turn: Turn, arg: str) -> None:
        year, _, group = arg.partition(":")
        if [int(year), group] not in turn.data["rounds"]:
            await self.prompt(turn)
            return
        await turn.save("close_confirm", {**turn.data, "year": int(year), "group": group})
        await self.prompt(turn)

    async def _confirm_close(self, turn: Turn) -> None:
        data = turn.data
        try:
            status = await turn.call(
                round_status,
                turn.context.deps.read_uow(),
                turn.who.actor,
                int(data["year"]),
                data["group"],
            )
        except ServiceError as exc:
            # The round cannot be read: the dialog ends (this is also how its step is shown).
            await turn.finish()
            await service_error(turn, exc)
            return
        buttons = [
            [
                turn.button(turn.plain("peer.confirm_close_button"), "ok"),
                turn.button(turn.plain("peer.cancel_button"), "no"),
            ]
        ]
        await turn.say(
            "peer.confirm_close",
            buttons,
            **self._counts(status),
        )

    def _counts(self, status: RoundStatus) -> dict[str, Any]:
        return {
            "year": status.round.year,
            "group": status.round.group,
            "done": status.count(DONE),
            "partly": status.count(PARTLY),
            "not_started": status.count(NOT_STARTED),
            "units": len(status.units),
        }

    async def _close_confirmed(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        await turn.finish()
        status = await turn.call(
            close_round,
            turn.context.deps.uow(),
            turn.who.actor,
            int(data["year"]),
            data["group"],
        )
        await turn.say("peer.closed", **self._counts(status))

    steps: ClassVar[Mapping[str, Step]] = {
        "menu": Step(_show_menu, buttons={"m": _menu}),
        # liaisons
        "ballot_year": Step(_ask_ballot_year, buttons={"by": _ballot_year}),
        "cards": Step(_cards_prompt, buttons={"v": _vote, "pg": _page}),
        # coordinators
        "open_year": Step(_ask_open_year, buttons={"oy": _open_year}),
        "open_group": Step(_ask_group, buttons={"og": _open_group}),
        "open_by": Step(_ask_vote_by, buttons={"ob": _open_by}),
        "open_confirm": Step(_confirm_open, buttons={"ok": _open_confirmed}),
        "status": Step(_show_status, buttons={"dt": _details, "rm": _remind}),
        "close_pick": Step(_ask_close, buttons={"cp": _close_pick}),
        "close_confirm": Step(_confirm_close, buttons={"ok": _close_confirmed}),
    }
    anywhere: ClassVar[Mapping[str, Tapped]] = {"no": _cancel}
