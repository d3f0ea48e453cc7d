"""The peer rating (互评) and the rectification evaluation from the database, on SQLite and
PostgreSQL: rounds, cards, votes and their refusals, who has voted, votes on paper, and the
standings they feed (scoring.md §2b)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

from scoring import Grade, GradeRecord, Group, InputError, Unit
from scoring.inputs import RectificationCount
from scoring.plan import YearEndSource
from services.access import Actor, Role
from services.errors import Invalid, NotFound, Refused, ServiceError
from services.extensions import decide_extension, request_extension
from services.file_scoring import ScoringFiles, score_files
from services.findings import (
    accept_rectification,
    record_finding,
    submit_rectification,
)
from services.peer import (
    DONE,
    NOT_STARTED,
    PARTLY,
    ballots,
    cast_vote,
    close_round,
    open_round,
    round_status,
)
from services.people import register_person, register_units
from services.plans import load_plan
from services.reminders import (
    PEER_DUE,
    PEER_OPEN,
    PEER_REMIND,
    due_reminders,
    plan_reminders,
    remind_peer_voters,
)
from services.standings import compute_standings, export_year_workbooks, year_inputs
from services.year_data import import_grades
from storage.clock import FixedClock
from storage.models import AuditEntry, PeerRound, PeerVote, ReminderRow, UnitRow
from storage.repositories.year_data import YearUnits
from storage.unit_of_work import UnitOfWork
from tests.conftest import SHANGHAI
from tests.factories import plan_data
from tests.services.district import count

YEAR = 2025
UOW = Callable[[], UnitOfWork]
OPERATOR = Actor.operator()
COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="发改局")
E, G, F, P = Grade.EXCELLENT, Grade.GOOD, Grade.FAIR, Grade.POOR
TOWN, DEPT = Group.TOWN.value, Group.ZONE_OR_DEPARTMENT.value
UNITS = [
    Unit("dianzi", "店子镇", Group.TOWN),
    Unit("xiji", "西集镇", Group.TOWN),
    Unit("sangcun", "桑村镇", Group.TOWN),
    Unit("finance", "区财政局", Group.ZONE_OR_DEPARTMENT),
    Unit("devzone", "开发区", Group.ZONE_OR_DEPARTMENT),
]
SOURCES = {"panel": 0.6, "peer": 0.3, "rectification": 0.1}


def plan_text(sources: dict[str, float] | None = None) -> str:
    """The default plan of the year with these year-end source weights."""
    data = plan_data(YEAR)
    data["work"]["year_end"] = {"sources": sources or SOURCES}
    return yaml.safe_dump(data, allow_unicode=True)


@dataclass(frozen=True)
class World:
    """The stored year: units' ids and a liaison (two for 店子镇) of every unit."""

    ids: dict[str, int]
    liaisons: dict[str, Actor]
    second_dianzi: Actor


def _liaison(uow: UOW, telegram_id: int, name: str, unit: str) -> Actor:
    view = register_person(uow(), OPERATOR, telegram_id, name, Role.LIAISON, unit)
    with uow() as u:
        unit_id = next(r.id for r in u.repository(YearUnits).rows() if r.code == unit)
    return Actor(person_id=view.id, role=Role.LIAISON, unit_id=unit_id, name=name)


@pytest.fixture
def world(uow: UOW) -> World:
    """The plan with peers weighed, five units, a liaison each and a second for 店子镇."""
    load_plan(uow(), OPERATOR, plan_text(), "plan.yaml")
    register_units(uow(), OPERATOR, UNITS)
    with uow() as u:
        ids = {r.code: r.id for r in u.repository(YearUnits).rows()}
    liaisons = {
        unit.code: _liaison(uow, 1000 + k, f"{unit.name}联络员", unit.code)
        for k, unit in enumerate(UNITS)
    }
    second = _liaison(uow, 2000, "店子镇联络员二", "dianzi")
    return World(ids, liaisons, second)


def audits(uow: UOW, prefix: str = "peer.") -> list[AuditEntry]:
    """The audit entries of the peer rating, oldest first."""
    with uow() as u:
        return list(
            u.session.execute(
                select(AuditEntry)
                .where(AuditEntry.action.startswith(prefix))
                .order_by(AuditEntry.id)
            ).scalars()
        )


@contextmanager
def changes_nothing(uow: UOW) -> Iterator[None]:
    """The block leaves rounds, votes and the audit log as they were."""
    before = (count(uow, PeerRound), count(uow, PeerVote), count(uow, AuditEntry))
    yield
    assert (count(uow, PeerRound), count(uow, PeerVote), count(uow, AuditEntry)) == before


def refused(call: Callable[[], Any], uow: UOW) -> ServiceError:
    """The service error a call raises, checking it stored nothing."""
    with changes_nothing(uow), pytest.raises(ServiceError) as caught:
        call()
    return caught.value


def year_end(uow: UOW, code: str, item: str = "key_work", **kw: Any) -> dict[str, float]:
    """The year-end sources of one unit's item in the standings from the database."""
    entries = [
        e for g in compute_standings(uow(), YEAR, **kw).to_json()["groups"].values() for e in g
    ]
    entry = next(e for e in entries if e["unit"] == code)
    sources: dict[str, float] = entry["items"][item]["year_end_sources"]
    return sources


# --- opening ----------------------------------------------------------------------------------


def test_a_coordinator_opens_the_round_of_a_group_and_it_is_audited(
    uow: UOW, world: World
) -> None:
    view = open_round(uow(), COORDINATOR, YEAR, TOWN, date(2025, 3, 10))
    assert (view.year, view.group, view.status, view.vote_by) == (
        YEAR,
        TOWN,
        "open",
        date(2025, 3, 10),
    )
    assert view.items == (("key_work", "重点工作"),)
    (entry,) = audits(uow)
    assert (entry.action, entry.entity, entry.before) == ("peer.open", "peer_round", None)
    assert entry.after is not None and entry.after["group"] == TOWN


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("again", "peer_round_already_open"),
        ("closed", "peer_round_closed"),
        ("past", "peer_vote_by_past"),
        ("no_peer", "peer_not_in_plan"),
        ("alone", "peer_group_too_small"),
        ("group", "peer_unknown_group"),
    ],
)
def test_a_round_that_cannot_be_opened_is_refused_with_nothing_stored(
    uow: UOW, world: World, setup: str, code: str
) -> None:
    group, vote_by = TOWN, None
    if setup == "again":
        open_round(uow(), COORDINATOR, YEAR, TOWN)
    elif setup == "closed":
        open_round(uow(), COORDINATOR, YEAR, TOWN)
        close_round(uow(), COORDINATOR, YEAR, TOWN)
    elif setup == "past":
        vote_by = date(2025, 2, 28)  # the clock is at 2025-03-01
    elif setup == "no_peer":
        load_plan(uow(), OPERATOR, plan_text({"panel": 1.0}), "plan.yaml")
    elif setup == "alone":
        group = DEPT  # with the zone deactivated, the finance bureau is alone in its group
        with uow() as u:
            u.session.execute(
                update(UnitRow).where(UnitRow.code == "devzone").values(active=False)
            )
            u.commit()
    elif setup == "group":
        group = "villages"
    error = refused(lambda: open_round(uow(), COORDINATOR, YEAR, group, vote_by), uow)
    assert error.code == code


def test_only_coordinators_open_and_close(uow: UOW, world: World) -> None:
    error = refused(lambda: open_round(uow(), world.liaisons["dianzi"], YEAR, TOWN), uow)
    assert isinstance(error, Refused)
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    error = refused(lambda: close_round(uow(), world.liaisons["dianzi"], YEAR, TOWN), uow)
    assert isinstance(error, Refused)


# --- cards and votes --------------------------------------------------------------------------


def test_a_liaison_gets_a_card_per_other_unit_of_the_group_and_peer_item(
    uow: UOW, world: World
) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    open_round(uow(), COORDINATOR, YEAR, DEPT)
    (ballot,) = ballots(uow(), world.liaisons["dianzi"])
    assert ballot.round.group == TOWN
    assert ballot.unit_name == "店子镇"
    assert [(c.unit_name, c.item, c.grade) for c in ballot.cards] == [
        ("桑村镇", "key_work", None),
        ("西集镇", "key_work", None),
    ]
    (dept,) = ballots(uow(), world.liaisons["finance"])
    assert [c.unit_name for c in dept.cards] == ["开发区"]


def test_a_liaison_sees_only_their_own_units_votes(uow: UOW, world: World) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    cast_vote(uow(), world.liaisons["xiji"], YEAR, world.ids["sangcun"], "key_work", E)
    (ballot,) = ballots(uow(), world.liaisons["dianzi"])
    assert all(c.grade is None for c in ballot.cards)
    (xiji,) = ballots(uow(), world.liaisons["xiji"])
    assert {c.unit_name: c.grade for c in xiji.cards} == {"店子镇": None, "桑村镇": E}


def test_a_vote_is_recorded_changed_and_audited_with_who_cast_it(uow: UOW, world: World) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    first = cast_vote(uow(), world.liaisons["dianzi"], YEAR, world.ids["xiji"], "key_work", G)
    assert (first.grade, first.previous, first.changed, first.done, first.total) == (
        G,
        None,
        True,
        1,
        2,
    )
    # Another liaison of the same unit changes the unit's vote: the latest counts.
    second = cast_vote(uow(), world.second_dianzi, YEAR, world.ids["xiji"], "key_work", "好")
    assert (second.grade, second.previous, second.changed, second.done) == (E, G, True, 1)
    same = cast_vote(uow(), world.liaisons["dianzi"], YEAR, world.ids["xiji"], "key_work", E)
    assert (same.changed, same.done) == (False, 1)
    assert count(uow, PeerVote) == 2  # the replaced vote is kept
    votes = [a for a in audits(uow) if a.action == "peer.vote"]
    assert len(votes) == 2
    assert votes[1].before is not None and votes[1].after is not None
    assert votes[1].before["grade"] == "good"
    assert votes[1].before["cast_by"] == world.liaisons["dianzi"].person_id
    assert votes[1].after["cast_by"] == world.second_dianzi.person_id
    (ballot,) = ballots(uow(), world.liaisons["dianzi"])
    assert {c.unit_name: c.grade for c in ballot.cards}["西集镇"] == E


@pytest.mark.parametrize(
    ("who", "unit", "item", "code"),
    [
        ("dianzi", "dianzi", "key_work", "peer_vote_own_unit"),
        ("dianzi", "finance", "key_work", "peer_vote_other_group"),
        ("dianzi", "xiji", "basic_work", "peer_item_not_rated"),
        ("coordinator", "xiji", "key_work", "peer_vote_not_liaison"),
        ("dianzi", "nowhere", "key_work", "unknown_unit"),
    ],
)
def test_a_vote_that_cannot_count_is_refused_and_changes_nothing(
    uow: UOW, world: World, who: str, unit: str, item: str, code: str
) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    open_round(uow(), COORDINATOR, YEAR, DEPT)
    actor = COORDINATOR if who == "coordinator" else world.liaisons[who]
    unit_id = world.ids.get(unit, 9999)
    error = refused(lambda: cast_vote(uow(), actor, YEAR, unit_id, item, G), uow)
    assert error.code == code


def test_a_vote_before_the_round_opens_or_after_it_closes_is_refused(
    uow: UOW, world: World
) -> None:
    dianzi, xiji = world.liaisons["dianzi"], world.ids["xiji"]
    error = refused(lambda: cast_vote(uow(), dianzi, YEAR, xiji, "key_work", G), uow)
    assert error.code == "peer_round_not_open"
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    cast_vote(uow(), dianzi, YEAR, xiji, "key_work", G)
    close_round(uow(), COORDINATOR, YEAR, TOWN)
    error = refused(lambda: cast_vote(uow(), dianzi, YEAR, xiji, "key_work", E), uow)
    assert error.code == "peer_round_closed"
    assert ballots(uow(), dianzi) == []  # no open round: no cards
    error = refused(lambda: close_round(uow(), COORDINATOR, YEAR, TOWN), uow)
    assert error.code == "peer_round_closed"


def test_a_unit_that_joins_the_group_while_the_round_is_open_rates_and_is_rated(
    uow: UOW, world: World
) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    register_units(uow(), OPERATOR, [Unit("beizhuang", "北庄镇", Group.TOWN)])
    late = _liaison(uow, 3000, "北庄镇联络员", "beizhuang")
    (ballot,) = ballots(uow(), world.liaisons["dianzi"])
    assert "北庄镇" in {c.unit_name for c in ballot.cards}
    (own,) = ballots(uow(), late)
    assert {c.unit_name for c in own.cards} == {"店子镇", "西集镇", "桑村镇"}
    vote = cast_vote(uow(), late, YEAR, world.ids["dianzi"], "key_work", F)
    assert (vote.done, vote.total) == (1, 3)


# --- who has voted ----------------------------------------------------------------------------


def test_the_status_says_which_units_voted_and_how_far_never_what(uow: UOW, world: World) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    for rated in ("xiji", "sangcun"):
        cast_vote(uow(), world.liaisons["dianzi"], YEAR, world.ids[rated], "key_work", G)
    cast_vote(uow(), world.liaisons["xiji"], YEAR, world.ids["dianzi"], "key_work", F)
    status = round_status(uow(), COORDINATOR, YEAR, TOWN)
    assert (status.count(DONE), status.count(PARTLY), status.count(NOT_STARTED)) == (1, 1, 1)
    assert {(u.unit_name, u.voted, u.cards, u.state) for u in status.units} == {
        ("店子镇", 2, 2, DONE),
        ("西集镇", 1, 2, PARTLY),
        ("桑村镇", 0, 2, NOT_STARTED),
    }
    with pytest.raises(Refused):
        round_status(uow(), world.liaisons["dianzi"], YEAR, TOWN)
    with pytest.raises(NotFound):
        round_status(uow(), COORDINATOR, YEAR, DEPT)


def test_closing_freezes_the_round_and_is_audited_with_the_counts(uow: UOW, world: World) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    cast_vote(uow(), world.liaisons["dianzi"], YEAR, world.ids["xiji"], "key_work", G)
    status = close_round(uow(), COORDINATOR, YEAR, TOWN)
    assert status.round.status == "closed"
    entry = audits(uow)[-1]
    assert entry.action == "peer.close"
    assert entry.after == {
        "year": YEAR,
        "group": TOWN,
        "vote_by": None,
        "status": "closed",
        "done": 0,
        "partly": 1,
        "not_started": 2,
    }


# --- the standings ----------------------------------------------------------------------------


def test_votes_feed_the_standings_as_they_stood(uow: UOW, world: World, clock: FixedClock) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    before = clock.now()
    clock.advance(hours=1)
    cast_vote(uow(), world.liaisons["xiji"], YEAR, world.ids["dianzi"], "key_work", E)
    cast_vote(uow(), world.liaisons["sangcun"], YEAR, world.ids["dianzi"], "key_work", F)
    assert year_end(uow, "dianzi") == {"peer": pytest.approx(0.8)}
    assert year_end(uow, "dianzi", as_of=before) == {}
    flags = compute_standings(uow(), YEAR).to_json()["groups"]["town"]
    xiji = next(e for e in flags if e["unit"] == "xiji")
    assert xiji["items"]["key_work"]["flags"] == ["no_grade", "no_peer", "no_findings"]


def test_votes_of_a_unit_that_left_the_group_no_longer_count(uow: UOW, world: World) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    cast_vote(uow(), world.liaisons["xiji"], YEAR, world.ids["dianzi"], "key_work", E)
    cast_vote(uow(), world.liaisons["sangcun"], YEAR, world.ids["dianzi"], "key_work", P)
    register_units(uow(), OPERATOR, [Unit("sangcun", "桑村镇", Group.ZONE_OR_DEPARTMENT)])
    assert year_end(uow, "dianzi") == {"peer": 1.0}


def test_a_plan_without_peers_ignores_the_stored_votes(uow: UOW, world: World) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    cast_vote(uow(), world.liaisons["xiji"], YEAR, world.ids["dianzi"], "key_work", E)
    load_plan(uow(), OPERATOR, plan_text({"panel": 1.0}), "plan.yaml")
    assert year_end(uow, "dianzi") == {}
    assert [g for g in year_inputs(uow(), YEAR).grades if g.source is YearEndSource.PEER] == []


def test_the_rectification_evaluation_is_computed_from_the_years_findings(
    uow: UOW, world: World, clock: FixedClock
) -> None:
    dianzi = world.ids["dianzi"]
    liaison = world.liaisons["dianzi"]

    def finding(deadline: date) -> int:
        return record_finding(
            uow(), COORDINATOR, dianzi, "台账不全", "visit", date(2025, 3, 1), deadline
        ).id

    on_time = finding(date(2025, 3, 10))  # rectified on the 5th, accepted on the 12th
    late = finding(date(2025, 3, 10))  # rectified on the 12th: too late
    extended = finding(date(2025, 3, 10))  # extended to the 20th, rectified on the 15th
    never = finding(date(2025, 3, 10))  # never rectified
    later = finding(date(2025, 6, 30))  # not due yet
    clock.set(datetime(2025, 3, 5, 10, tzinfo=SHANGHAI))
    first = submit_rectification(uow(), liaison, on_time, "已整改")
    request = request_extension(uow(), liaison, dianzi, "需要时间", date(2025, 3, 20), extended)
    decide_extension(uow(), COORDINATOR, request.id, grant=True)
    submit_rectification(uow(), liaison, later, "提前整改")  # early: counted once due
    clock.set(datetime(2025, 3, 12, 10, tzinfo=SHANGHAI))
    accept_rectification(uow(), COORDINATOR, first.rectification_id)
    second = submit_rectification(uow(), liaison, late, "补交")
    accept_rectification(uow(), COORDINATOR, second.rectification_id)
    clock.set(datetime(2025, 3, 15, 10, tzinfo=SHANGHAI))
    third = submit_rectification(uow(), liaison, extended, "已整改")
    accept_rectification(uow(), COORDINATOR, third.rectification_id)
    assert never
    clock.set(datetime(2025, 3, 25, 10, tzinfo=SHANGHAI))
    # Due: on_time, late, extended (20th), never = 4; on time: on_time, extended = 2 -> 0.5,
    # 差 0.4. The one due in June is not counted yet.
    assert year_inputs(uow(), YEAR).rectification == [RectificationCount("dianzi", 4, 2)]
    assert year_end(uow, "dianzi") == {"rectification": 0.4}
    explained = compute_standings(uow(), YEAR).explain("dianzi").rectification
    assert explained is not None
    assert (explained.due, explained.on_time, explained.ratio, explained.grade) == (4, 2, 0.5, P)
    # As of the 11th the extended one was not due yet and the accepted one not yet accepted.
    as_of = datetime(2025, 3, 11, 12, tzinfo=SHANGHAI)
    assert year_inputs(uow(), YEAR, as_of).rectification == [RectificationCount("dianzi", 3, 0)]


# --- votes on paper ---------------------------------------------------------------------------


def peer_rows(*votes: tuple[str, str, Grade]) -> list[GradeRecord]:
    """Peer votes as the grades reader gives them: (rated, rating unit, grade)."""
    return [
        GradeRecord(unit, "key_work", "year", rater, grade, YearEndSource.PEER)
        for unit, rater, grade in votes
    ]


def test_peer_votes_on_paper_are_imported_with_the_grades(uow: UOW, world: World) -> None:
    records = [
        GradeRecord("dianzi", "key_work", "year", "区统计局", G),
        *peer_rows(("dianzi", "xiji", E), ("dianzi", "sangcun", F)),
    ]
    summary = import_grades(uow(), COORDINATOR, YEAR, records, "grades.xlsx")
    assert (summary.added, summary.changed, summary.unchanged, summary.peer) == (3, 0, 0, 2)
    assert year_end(uow, "dianzi") == {"panel": 0.8, "peer": pytest.approx(0.8)}
    again = import_grades(
        uow(), COORDINATOR, YEAR, peer_rows(("dianzi", "xiji", G), ("dianzi", "sangcun", F)), "g2"
    )
    assert (again.added, again.changed, again.unchanged) == (0, 1, 1)
    entry = audits(uow, "peer.import")[-1]
    assert entry.before == {
        "replaced": [
            {
                "unit": "dianzi",
                "item": "key_work",
                "rater_unit": "xiji",
                "before": "excellent",
                "after": "good",
            }
        ]
    }
    # The cards show what was imported: 西集镇's vote on 店子镇 is its unit's vote.
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    (ballot,) = ballots(uow(), world.liaisons["xiji"])
    assert {c.unit_name: c.grade for c in ballot.cards}["店子镇"] == G


def test_bad_peer_votes_on_paper_refuse_the_whole_import(uow: UOW, world: World) -> None:
    records = [
        GradeRecord("dianzi", "key_work", "year", "区统计局", G),
        *peer_rows(("dianzi", "dianzi", E), ("dianzi", "finance", E), ("dianzi", "xiji", E)),
        GradeRecord("xiji", "basic_work", "Q1", "dianzi", E, YearEndSource.PEER),
    ]
    with changes_nothing(uow), pytest.raises(InputError) as caught:
        import_grades(uow(), COORDINATOR, YEAR, records, "grades.xlsx")
    assert [p.code for p in caught.value.problems] == [
        "peer_own_unit",
        "peer_other_group",
        "peer_item_not_rated",
        "peer_not_year_end",
    ]


def test_votes_on_paper_for_a_closed_round_are_refused(uow: UOW, world: World) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    close_round(uow(), COORDINATOR, YEAR, TOWN)
    with changes_nothing(uow), pytest.raises(InputError) as caught:
        import_grades(uow(), COORDINATOR, YEAR, peer_rows(("dianzi", "xiji", E)), "g.xlsx")
    assert [p.code for p in caught.value.problems] == ["peer_round_closed_import"]
    summary = import_grades(
        uow(),
        COORDINATOR,
        YEAR,
        [GradeRecord("finance", "key_work", "year", "devzone", E, YearEndSource.PEER)],
        "g.xlsx",
    )
    assert summary.peer == 1  # the departments' round is not closed


def test_votes_on_paper_under_a_plan_without_peers_are_refused(uow: UOW, world: World) -> None:
    load_plan(uow(), OPERATOR, plan_text({"panel": 1.0}), "plan.yaml")
    with changes_nothing(uow), pytest.raises(InputError) as caught:
        import_grades(uow(), COORDINATOR, YEAR, peer_rows(("dianzi", "xiji", E)), "g.xlsx")
    assert [p.code for p in caught.value.problems] == ["peer_not_in_plan"]


def test_refusals_are_service_errors_of_the_right_kind(uow: UOW, world: World) -> None:
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    with pytest.raises(Refused):
        cast_vote(uow(), world.liaisons["dianzi"], YEAR, world.ids["dianzi"], "key_work", G)
    with pytest.raises(Invalid):
        cast_vote(uow(), world.liaisons["dianzi"], YEAR, world.ids["xiji"], "key_work", "棒")


# --- reminders --------------------------------------------------------------------------------


def reminder_rows(uow: UOW) -> list[tuple[str, str, int, date, str]]:
    """(kind, target, person, local day, status) of the peer reminders, in id order."""
    with uow() as u:
        rows = u.session.execute(
            select(ReminderRow)
            .where(ReminderRow.kind.startswith("peer_"))
            .order_by(ReminderRow.id)
        ).scalars()
        return [(r.kind, r.target, r.person_id, r.due_on, r.status) for r in rows]


def test_liaisons_of_units_with_cards_left_are_told_and_reminded_until_they_are_done(
    uow: UOW, world: World, clock: FixedClock
) -> None:
    view = open_round(uow(), COORDINATOR, YEAR, TOWN, date(2025, 3, 10))
    plan_reminders(uow())
    opened = {(k, p) for k, _, p, _, s in reminder_rows(uow) if k == PEER_OPEN}
    towns = ("dianzi", "xiji", "sangcun")
    expected = {world.liaisons[c].person_id for c in towns} | {world.second_dianzi.person_id}
    assert {p for _, p in opened} == expected
    # 西集镇 votes all its cards: its pending reminders are skipped, the others stay.
    for rated in ("dianzi", "sangcun"):
        cast_vote(uow(), world.liaisons["xiji"], YEAR, world.ids[rated], "key_work", G)
    clock.set(datetime(2025, 3, 7, 8, 0, tzinfo=SHANGHAI))
    plan_reminders(uow())
    rows = reminder_rows(uow)
    xiji = world.liaisons["xiji"].person_id
    assert not any(p == xiji and s == "pending" for _, _, p, _, s in rows)
    due = {
        (t, d) for k, t, p, d, s in rows if k == PEER_DUE and p == world.second_dianzi.person_id
    }
    target = f"peer:{view.id}:{world.ids['dianzi']}"
    assert (target, date(2025, 3, 7)) in due  # three days before the vote-by day
    # The round closes: nothing of it is sent any more.
    close_round(uow(), COORDINATOR, YEAR, TOWN)
    plan_reminders(uow())
    assert not any(s == "pending" for *_, s in reminder_rows(uow))


def test_a_coordinator_reminds_the_units_not_done_once_a_day(
    uow: UOW, world: World, clock: FixedClock
) -> None:
    open_round(uow(), COORDINATOR, YEAR, DEPT)
    cast_vote(uow(), world.liaisons["finance"], YEAR, world.ids["devzone"], "key_work", G)
    first = remind_peer_voters(uow(), COORDINATOR, YEAR, DEPT)
    assert (first.units, first.liaisons, first.already) == (1, 1, 0)
    again = remind_peer_voters(uow(), COORDINATOR, YEAR, DEPT)
    assert (again.units, again.liaisons, again.already) == (1, 0, 1)
    clock.advance(minutes=1)
    (outgoing,) = [o for o in due_reminders(uow(), "one") if o.kind == PEER_REMIND]
    assert outgoing.person_id == world.liaisons["devzone"].person_id
    assert (outgoing.params["voted"], outgoing.params["cards"]) == (0, 1)
    assert audits(uow, "peer.remind")[-1].after is not None
    with pytest.raises(Refused):
        remind_peer_voters(uow(), world.liaisons["devzone"], YEAR, DEPT)


def test_standings_with_peers_and_rectification_equal_kaohe_score_on_the_export(
    uow: UOW, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    import_grades(
        uow(),
        COORDINATOR,
        YEAR,
        [
            GradeRecord("dianzi", "key_work", "year", "区统计局", G),
            GradeRecord("finance", "basic_work", "Q1", "区统计局", F),
        ],
        "grades.xlsx",
    )
    open_round(uow(), COORDINATOR, YEAR, TOWN)
    cast_vote(uow(), world.liaisons["xiji"], YEAR, world.ids["dianzi"], "key_work", E)
    cast_vote(uow(), world.liaisons["dianzi"], YEAR, world.ids["sangcun"], "key_work", P)
    finding = record_finding(
        uow(), COORDINATOR, world.ids["xiji"], "台账", "visit", date(2025, 3, 1), date(2025, 3, 3)
    )
    assert finding.id
    clock.set(datetime(2025, 3, 5, 9, tzinfo=SHANGHAI))
    standings = compute_standings(uow(), YEAR)
    files = export_year_workbooks(uow(), YEAR, tmp_path / "export")
    from_files = score_files(
        ScoringFiles(
            files.plan, files.units, files.values, files.grades, files.bonus, files.events
        )
    )
    assert json.dumps(from_files.to_json()) == json.dumps(standings.to_json())
    assert year_end(uow, "xiji") == {"rectification": 0.4}
    assert year_end(uow, "dianzi") == {"panel": 0.8, "peer": 1.0}
