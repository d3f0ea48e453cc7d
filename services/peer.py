"""The peer rating (重点工作完成绩效互评) of a year in one group, scoring.md §2b.

A coordinator opens the round of a year for a group (towns, or the zone and departments); each
unit then gives, through any of its liaisons, one grade per other unit of the group and per item
the plan has peers rate (`work.year_end.peer_items`). A vote can be changed until the round is
closed, which freezes it. Votes can also come on paper, imported with the grades workbook
(`source: peer`). Everything is audited.

Decisions:
- One vote per rating unit, rated unit and item: whichever of a unit's liaisons voted last
  counts; a changed vote replaces the one in force, which is kept (`replaced_at`) and audited
  with who cast each.
- The cards follow the group as it is now: a unit that joins the group (is registered, or
  moves into it) while the round is open gets cards for every other unit and can be rated by
  them; a unit that leaves it is no longer rated, and its votes no longer count.
- A liaison sees only their own unit's votes; `round_status` says which units have voted, and
  how many of their cards, never what they voted.
- Votes on paper may be imported before a round is opened or while it is open, never after it
  is closed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from scoring import Grade, GradeRecord, Group, InputProblem, Plan
from scoring.calendar import local_date
from scoring.groups import parse_group
from scoring.plan import GRADE_LABELS, YEAR_END, YearEndSource
from services.access import Actor, Role, require_role
from services.errors import Invalid, NotFound, Refused
from services.plans import plan_in_force, plan_in_force_or_none, require_year_open
from storage.clock import as_utc
from storage.models import PeerRound, PeerVote
from storage.repositories.peer import PeerRounds, PeerVotes, VoteInForce
from storage.repositories.plans import Plans
from storage.repositories.year_data import YearUnits
from storage.statuses import RoundState, VotingProgress
from storage.unit_of_work import UnitOfWork

# Aliases the peer dialog and the reminders import.
OPEN, CLOSED = RoundState.OPEN, RoundState.CLOSED
DONE, PARTLY, NOT_STARTED = VotingProgress.DONE, VotingProgress.PARTLY, VotingProgress.NOT_STARTED
_GRADE_OF: dict[str, Grade] = {
    **{g.value: g for g in Grade},
    **{label: g for g, label in GRADE_LABELS.items()},
}


@dataclass(frozen=True)
class RoundView:
    """A peer rating round: its year, group, items, the day to vote by, open or closed."""

    id: int
    year: int
    group: str
    items: tuple[tuple[str, str], ...]  # (code, name) of the items peers rate
    vote_by: date | None
    opened_at: datetime
    closed_at: datetime | None

    @property
    def status(self) -> RoundState:
        """`open` or `closed`."""
        return RoundState.OPEN if self.closed_at is None else RoundState.CLOSED


@dataclass(frozen=True)
class Card:
    """One thing a unit rates: another unit's item, and the unit's vote on it so far."""

    unit_id: int
    unit_name: str
    item: str
    item_name: str
    grade: Grade | None


@dataclass(frozen=True)
class Ballot:
    """What a liaison's unit rates in an open round, with its votes so far."""

    round: RoundView
    unit_id: int
    unit_name: str
    cards: tuple[Card, ...]

    @property
    def done(self) -> int:
        """How many cards the unit has voted on."""
        return sum(1 for c in self.cards if c.grade is not None)


@dataclass(frozen=True)
class VoteView:
    """A vote as recorded: the grade, the one it replaced, and the unit's progress."""

    year: int
    unit_id: int
    unit_name: str
    item: str
    grade: Grade
    previous: Grade | None
    changed: bool
    done: int
    total: int


@dataclass(frozen=True)
class UnitProgress:
    """How far a unit has voted: cards voted on of its cards (never what it voted)."""

    unit_id: int
    unit_name: str
    voted: int
    cards: int

    @property
    def state(self) -> VotingProgress:
        """`done`, `partly` or `not_started`."""
        if self.cards and self.voted >= self.cards:
            return VotingProgress.DONE
        return VotingProgress.PARTLY if self.voted else VotingProgress.NOT_STARTED


@dataclass(frozen=True)
class RoundStatus:
    """Who has voted in a round: each unit's progress, and the counts by state."""

    round: RoundView
    units: tuple[UnitProgress, ...]

    def count(self, state: VotingProgress) -> int:
        """How many units are in `state`."""
        return sum(1 for u in self.units if u.state == state)


@dataclass(frozen=True)
class PeerImport:
    """What an import of peer votes stored."""

    added: int
    replaced: int
    unchanged: int


@dataclass(frozen=True)
class _UnitRow:
    id: int
    code: str
    name: str
    group: str


# --- helpers --------------------------------------------------------------------------------


def _peer_plan(uow: UnitOfWork, year: int) -> Plan:
    """The plan of `year`, refusing one that does not weigh the peer rating."""
    plan = plan_in_force(uow, year)
    if plan.work.year_end.weight(YearEndSource.PEER) <= 0:
        raise Invalid("peer_not_in_plan", year=year)
    return plan


def _items(plan: Plan) -> tuple[tuple[str, str], ...]:
    names = {item.code: item.name for item in plan.work.items}
    return tuple((code, names.get(code, code)) for code in plan.work.year_end.peer_items)


def _group(group: str) -> Group:
    found = parse_group(group)
    if found is None:
        raise Invalid("peer_unknown_group", group=group)
    return found


def _units(uow: UnitOfWork) -> list[_UnitRow]:
    """The active units, towns first, then by code."""
    return [_UnitRow(r.id, r.code, r.name, r.group) for r in uow.repository(YearUnits).rows()]


def _round_view(row: PeerRound, plan: Plan | None) -> RoundView:
    return RoundView(
        id=row.id,
        year=row.year,
        group=row.group,
        items=_items(plan) if plan is not None else (),
        vote_by=row.vote_by,
        opened_at=as_utc(row.opened_at),
        closed_at=as_utc(row.closed_at) if row.closed_at is not None else None,
    )


def _round_audit(row: PeerRound) -> dict[str, object]:
    return {
        "year": row.year,
        "group": row.group,
        "vote_by": row.vote_by.isoformat() if row.vote_by else None,
        "status": RoundState.OPEN if row.closed_at is None else RoundState.CLOSED,
    }


def _progress(
    members: Sequence[_UnitRow], items: Sequence[str], votes: Iterable[VoteInForce]
) -> dict[int, int]:
    """Per unit of the group: how many of its cards (other members x items) it voted on."""
    member_ids = {u.id for u in members}
    wanted = set(items)
    voted: Counter[int] = Counter()
    for vote in votes:
        if (
            vote.rater_unit_id in member_ids
            and vote.unit_id in member_ids
            and vote.unit_id != vote.rater_unit_id
            and vote.item in wanted
        ):
            voted[vote.rater_unit_id] += 1
    return dict(voted)


# --- opening and closing --------------------------------------------------------------------


def open_round(
    uow: UnitOfWork, actor: Actor, year: int, group: str, vote_by: date | None = None
) -> RoundView:
    """Open the peer rating of `year` for `group`; its liaisons are told by the reminder job."""
    require_role(actor, Role.COORDINATOR)
    wanted = _group(group)
    with uow:
        require_year_open(uow, year)
        plan = _peer_plan(uow, year)
        today = local_date(as_utc(uow.now()), plan.timezone)
        if vote_by is not None and vote_by < today:
            raise Invalid("peer_vote_by_past", vote_by=vote_by.isoformat())
        members = [u for u in _units(uow) if u.group == wanted.value]
        if len(members) < 2:
            raise Invalid("peer_group_too_small", group=wanted.value, count=len(members))
        rounds = uow.repository(PeerRounds)
        existing = rounds.get(year, wanted.value)
        if existing is not None:
            code = "peer_round_already_open" if existing.closed_at is None else "peer_round_closed"
            raise Invalid(code, year=year, group=wanted.value)
        row = rounds.add(
            PeerRound(
                year=year,
                group=wanted.value,
                vote_by=vote_by,
                opened_at=uow.now(),
                opened_by=actor.person_id,
            )
        )
        uow.flush()
        after = {**_round_audit(row), "items": list(plan.work.year_end.peer_items)}
        uow.audit(actor.audit_name, "peer.open", "peer_round", row.id, None, after)
        uow.commit()
        return _round_view(row, plan)


def close_round(uow: UnitOfWork, actor: Actor, year: int, group: str) -> RoundStatus:
    """Close the peer rating of `year` for `group`: its votes are frozen from now on."""
    require_role(actor, Role.COORDINATOR)
    wanted = _group(group)
    with uow:
        require_year_open(uow, year)
        row = uow.repository(PeerRounds).get(year, wanted.value, lock=True)
        if row is None:
            raise NotFound("peer_round_not_found", year=year, group=wanted.value)
        if row.closed_at is not None:
            raise Invalid("peer_round_closed", year=year, group=wanted.value)
        before = _round_audit(row)
        row.closed_at = uow.now()
        row.closed_by = actor.person_id
        uow.flush()
        status = _status(uow, row)
        after = {
            **_round_audit(row),
            "done": status.count(VotingProgress.DONE),
            "partly": status.count(VotingProgress.PARTLY),
            "not_started": status.count(VotingProgress.NOT_STARTED),
        }
        uow.audit(actor.audit_name, "peer.close", "peer_round", row.id, before, after)
        uow.commit()
        return status


def rounds_of_year(uow: UnitOfWork, year: int) -> list[RoundView]:
    """The rounds of `year` (open and closed), in the order they were opened."""
    with uow:
        rows = uow.repository(PeerRounds).of_year(year)
        plan = plan_in_force_or_none(uow, year)
        return [_round_view(r, plan) for r in rows]


def peer_years(uow: UnitOfWork) -> list[int]:
    """The years whose plan in force weighs the peer rating, newest first."""
    with uow:
        years = sorted(uow.repository(Plans).years(), reverse=True)
        return [
            y
            for y in years
            if (plan := plan_in_force_or_none(uow, y)) is not None
            and plan.work.year_end.weight(YearEndSource.PEER) > 0
        ]


def all_rounds(uow: UnitOfWork) -> list[RoundView]:
    """Every round of every year, newest year first, then in the order opened."""
    with uow:
        rows = uow.repository(PeerRounds).all()
        plans: dict[int, Plan | None] = {}
        out = []
        for row in sorted(rows, key=lambda r: (-r.year, r.id)):
            if row.year not in plans:
                plans[row.year] = plan_in_force_or_none(uow, row.year)
            out.append(_round_view(row, plans[row.year]))
        return out


# --- who has voted --------------------------------------------------------------------------


def _status(uow: UnitOfWork, row: PeerRound) -> RoundStatus:
    plan = plan_in_force_or_none(uow, row.year)
    view = _round_view(row, plan)
    items = [code for code, _ in view.items]
    members = [u for u in _units(uow) if u.group == row.group]
    votes = uow.repository(PeerVotes).in_force(row.year, rater_unit_ids=[u.id for u in members])
    voted = _progress(members, items, votes)
    cards = (len(members) - 1) * len(items)
    units = tuple(UnitProgress(u.id, u.name, voted.get(u.id, 0), cards) for u in members)
    return RoundStatus(view, units)


def round_status(uow: UnitOfWork, actor: Actor, year: int, group: str) -> RoundStatus:
    """Which units of the group have voted in the round of `year`, and how far (never what)."""
    require_role(actor, Role.COORDINATOR, Role.VIEWER)
    wanted = _group(group)
    with uow:
        row = uow.repository(PeerRounds).get(year, wanted.value)
        if row is None:
            raise NotFound("peer_round_not_found", year=year, group=wanted.value)
        return _status(uow, row)


def open_statuses_in(uow: UnitOfWork) -> list[RoundStatus]:
    """The progress of every open round, inside an open unit of work (for the reminders: who
    still has cards to vote)."""
    return [_status(uow, row) for row in uow.repository(PeerRounds).open_rounds()]


# --- voting ---------------------------------------------------------------------------------


def _rater_unit(uow: UnitOfWork, actor: Actor) -> _UnitRow:
    """The active unit a liaison votes for; anyone else is refused."""
    if actor.role is not Role.LIAISON or actor.unit_id is None:
        raise Refused("peer_vote_not_liaison")
    row = uow.repository(YearUnits).one(actor.unit_id)
    if row is None:
        raise Refused("peer_vote_not_liaison")
    return _UnitRow(row.id, row.code, row.name, row.group)


def ballots(uow: UnitOfWork, actor: Actor) -> list[Ballot]:
    """The open rounds of the liaison's group, each with the cards their unit rates and its
    votes so far (only its own), newest year first."""
    with uow:
        own = _rater_unit(uow, actor)
        out = []
        for row in reversed(uow.repository(PeerRounds).open_rounds()):
            if row.group != own.group:
                continue
            plan = plan_in_force_or_none(uow, row.year)
            if plan is None:
                continue
            out.append(_ballot(uow, row, plan, own))
        return out


def _ballot(uow: UnitOfWork, row: PeerRound, plan: Plan, own: _UnitRow) -> Ballot:
    view = _round_view(row, plan)
    others = [u for u in _units(uow) if u.group == row.group and u.id != own.id]
    mine = {
        (v.unit_id, v.item): v.grade
        for v in uow.repository(PeerVotes).in_force(row.year, rater_unit_ids=[own.id])
    }
    cards = tuple(
        Card(u.id, u.name, code, name, _GRADE_OF.get(mine.get((u.id, code), "")))
        for code, name in view.items
        for u in others
    )
    return Ballot(view, own.id, own.name, cards)


def cast_vote(
    uow: UnitOfWork, actor: Actor, year: int, unit_id: int, item: str, grade: Grade | str
) -> VoteView:
    """A liaison's unit grades another unit's item in the open round of `year`; a vote given
    before (by any liaison of the unit) is replaced, and kept."""
    given = grade if isinstance(grade, Grade) else _GRADE_OF.get(str(grade).strip())
    with uow:
        own = _rater_unit(uow, actor)
        if given is None:
            raise Invalid("grade_unknown", grade=str(grade))
        require_year_open(uow, year)
        row = uow.repository(PeerRounds).get(year, own.group, lock=True)
        if row is None:
            raise Invalid("peer_round_not_open", year=year, group=own.group)
        if row.closed_at is not None:
            raise Invalid("peer_round_closed", year=year, group=own.group)
        plan = _peer_plan(uow, year)
        items = dict(_items(plan))
        if item not in items:
            raise Invalid("peer_item_not_rated", item=item, items=list(items.values()))
        rated = uow.repository(YearUnits).one(unit_id)
        if rated is None:
            raise NotFound("unknown_unit", unit=unit_id)
        if rated.id == own.id:
            raise Refused("peer_vote_own_unit", unit=own.name)
        if rated.group != own.group:
            raise Refused("peer_vote_other_group", unit=rated.name)
        votes = uow.repository(PeerVotes)
        mine = votes.in_force(year, rater_unit_ids=[own.id])
        old = next((v for v in mine if v.unit_id == rated.id and v.item == item), None)
        members = [u for u in _units(uow) if u.group == own.group]
        total = (len(members) - 1) * len(items)
        if old is not None and old.grade == given.value:
            done = _progress(members, list(items), mine).get(own.id, 0)
            return VoteView(year, rated.id, rated.name, item, given, None, False, done, total)
        now = uow.now()
        if old is not None:
            votes.mark_replaced([old.id], now)
        new = votes.add(
            PeerVote(
                year=year,
                unit_id=rated.id,
                rater_unit_id=own.id,
                item=item,
                grade=given.value,
                cast_at=now,
                cast_by=actor.person_id,
            )
        )
        uow.flush()
        key = {"year": year, "unit": rated.code, "item": item, "rater_unit": own.code}
        uow.audit(
            actor.audit_name,
            "peer.vote",
            "peer_vote",
            new.id,
            {**key, "grade": old.grade, "cast_by": old.cast_by, "vote_id": old.id}
            if old is not None
            else None,
            {**key, "grade": given.value, "cast_by": actor.person_id},
        )
        progress = _progress(members, list(items), votes.in_force(year, rater_unit_ids=[own.id]))
        uow.commit()
        previous = _GRADE_OF.get(old.grade) if old is not None else None
        return VoteView(
            year, rated.id, rated.name, item, given, previous, True, progress.get(own.id, 0), total
        )


# --- votes on paper, through the grades workbook -------------------------------------------


def peer_import_problems(
    uow: UnitOfWork, plan: Plan, year: int, records: Sequence[GradeRecord], source: str
) -> list[InputProblem]:
    """Why peer votes of a grades workbook cannot be stored (inside an open unit of work): a
    plan without peers, an item peers do not rate, not the year-end, a rater that is no active
    unit, the unit itself, another group, a duplicate, or a round already closed."""
    if not records:
        return []
    problems: list[InputProblem] = []

    def add(code: str, **params: object) -> None:
        problems.append(InputProblem(code, params, source, "grades"))

    year_end = plan.work.year_end
    if year_end.weight(YearEndSource.PEER) <= 0:
        add("peer_not_in_plan", votes=len(records))
        return problems
    units = {u.code: u for u in _units(uow)}
    closed = {r.group for r in uow.repository(PeerRounds).of_year(year) if r.closed_at}
    seen: set[tuple[str, str, str]] = set()
    for r in records:
        where = {"unit": r.unit, "item": r.item, "rater": r.rater}
        if r.item not in year_end.peer_items:
            add("peer_item_not_rated", **where, items=list(year_end.peer_items))
        if r.period != YEAR_END:
            add("peer_not_year_end", **where, period=r.period)
        rated, rater = units.get(r.unit), units.get(r.rater)
        if rated is None:
            add("unknown_unit", unit=r.unit)
        if rater is None:
            add("unknown_rater_unit", **where)
        elif rated is not None and rater.id == rated.id:
            add("peer_own_unit", **where)
        elif rated is not None and rater.group != rated.group:
            add("peer_other_group", **where)
        elif rated is not None and rated.group in closed:
            add("peer_round_closed_import", **where, year=year, group=rated.group)
        key = (r.unit, r.item, r.rater)
        if key in seen:
            add("duplicate_grade", **where, period=r.period)
        seen.add(key)
    return problems


def store_peer_votes(
    uow: UnitOfWork, actor: Actor, year: int, records: Sequence[GradeRecord], source: str
) -> PeerImport:
    """Store checked peer votes of a grades workbook (inside the import's unit of work): each
    replaces the vote in force of the same rating unit on the same unit and item, identical
    ones change nothing; one audit entry lists what was replaced."""
    units = {u.code: u for u in _units(uow)}
    votes = uow.repository(PeerVotes)
    current = {(v.unit_id, v.item, v.rater_unit_id): v for v in votes.in_force(year)}
    now = uow.now()
    rows: list[dict[str, object]] = []
    replaced: list[dict[str, object]] = []
    replaced_ids: list[int] = []
    unchanged = 0
    for r in records:
        rated, rater = units[r.unit], units[r.rater]
        old = current.get((rated.id, r.item, rater.id))
        if old is not None and old.grade == r.grade.value:
            unchanged += 1
            continue
        if old is not None:
            replaced_ids.append(old.id)
            replaced.append(
                {
                    "unit": rated.code,
                    "item": r.item,
                    "rater_unit": rater.code,
                    "before": old.grade,
                    "after": r.grade.value,
                }
            )
        rows.append(
            {
                "year": year,
                "unit_id": rated.id,
                "rater_unit_id": rater.id,
                "item": r.item,
                "grade": r.grade.value,
                "cast_at": now,
                "cast_by": actor.person_id,
                "replaced_at": None,
            }
        )
    votes.mark_replaced(replaced_ids, now)
    votes.insert_many(rows)
    uow.audit(
        actor.audit_name,
        "peer.import",
        "peer_votes",
        year,
        {"replaced": replaced} if replaced else None,
        {
            "year": year,
            "source": source,
            "votes": len(records),
            "added": len(rows) - len(replaced),
            "replaced": len(replaced),
            "unchanged": unchanged,
        },
    )
    return PeerImport(len(rows) - len(replaced), len(replaced), unchanged)


# --- for the standings ----------------------------------------------------------------------


def peer_records(
    uow: UnitOfWork, plan: Plan, year: int, as_of: datetime | None, code_of: dict[int, str]
) -> list[GradeRecord]:
    """The votes in force (as of a moment) that count under `plan`, as the engine's grade
    records (inside an open unit of work): both units active (in `code_of`) and of the same
    group now, never a unit's own, on an item peers rate."""
    year_end = plan.work.year_end
    if year_end.weight(YearEndSource.PEER) <= 0:
        return []
    group_of = {u.id: u.group for u in _units(uow)}
    out = []
    for v in uow.repository(PeerVotes).in_force(year, as_of):
        grade = _GRADE_OF.get(v.grade)
        if (
            grade is not None
            and v.unit_id in code_of
            and v.rater_unit_id in code_of
            and v.unit_id != v.rater_unit_id
            and group_of.get(v.unit_id) == group_of.get(v.rater_unit_id)
            and v.item in year_end.peer_items
        ):
            out.append(
                GradeRecord(
                    code_of[v.unit_id],
                    v.item,
                    YEAR_END,
                    code_of[v.rater_unit_id],
                    grade,
                    YearEndSource.PEER,
                )
            )
    return out
