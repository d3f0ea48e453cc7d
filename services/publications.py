"""Publishing the standings: coordinators decide when units may see their score and rank.

A publication names a year, a period (`year` or a quarter `Q1`..`Q4`) and the moment `as_of`
the standings are computed at; the standings themselves are not stored but computed again from
the stored facts as they stood at `as_of` (services.standings), so a publication always shows
the same figures. A newer publication of a year supersedes the older ones; a withdrawn one is
kept (and audited) but no longer shown. A liaison sees only their own unit's explanation; the
rank within the group ("3rd of 10") is the only thing it tells about the others.

The year's standings (period `year`) are published only while the newest result of the year
is approved by the Leading Group (services.results, Art. 16); this is checked here, not only
by the adapters, so that no caller publishes a year nobody approved. A quarter is interim and
needs no approval.

Decisions: without `as_of`, a publication is as of now, but never later than the end of its
period (Q1 standings published in April are those of 31 March). A given day means the end of
that day in the plan's time zone (or now, for today); a day in the future, or outside the
period, is refused.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from scoring.calendar import end_of_day, local_date, quarter_days
from scoring.explanation import UnitExplanation
from services.access import Actor, Role, require_role
from services.errors import Invalid, NotFound, Refused
from services.plans import plan_in_force, require_year_open
from services.standings import compute_standings
from services.unit_lookup import UnitRef
from storage.clock import as_utc
from storage.models import Publication
from storage.repositories.people import People
from storage.repositories.publications import Publications
from storage.repositories.results import YearResults
from storage.repositories.units import Units
from storage.statuses import ResultStatus
from storage.unit_of_work import UnitOfWork
from templates import normalise_language

PERIODS: tuple[str, ...] = ("year", "Q1", "Q2", "Q3", "Q4")


@dataclass(frozen=True)
class PublicationView:
    """A publication of a year's standings; `timezone` is its plan's, for showing dates."""

    id: int
    year: int
    period: str
    as_of: datetime
    published_at: datetime
    published_by: int | None
    withdrawn_at: datetime | None
    timezone: str

    @property
    def withdrawn(self) -> bool:
        """Whether the publication was withdrawn."""
        return self.withdrawn_at is not None

    @property
    def as_of_local(self) -> datetime:
        """The moment of the standings in the plan's time zone."""
        return self.as_of.astimezone(ZoneInfo(self.timezone))


@dataclass(frozen=True)
class UnitScore:
    """One unit's explanation with what of the plan is needed to put it in words: category
    names by code, and the rules for equal and missing values and for trimming grades."""

    explanation: UnitExplanation
    categories: dict[str, str]
    when_all_equal: str
    missing_value: str
    trim_above: int


@dataclass(frozen=True)
class PublishedScore:
    """A unit's published score: the publication and the unit's full explanation."""

    publication: PublicationView
    score: UnitScore


def _view(row: Publication, timezone: str) -> PublicationView:
    return PublicationView(
        id=row.id,
        year=row.year,
        period=row.period,
        as_of=as_utc(row.as_of),
        published_at=as_utc(row.published_at),
        published_by=row.published_by,
        withdrawn_at=as_utc(row.withdrawn_at) if row.withdrawn_at is not None else None,
        timezone=timezone,
    )


def publication_view(row: Publication, timezone: str) -> PublicationView:
    """A publication row as a plain value (dates shown in `timezone`)."""
    return _view(row, timezone)


def _snapshot(row: Publication) -> dict[str, object]:
    return {
        "year": row.year,
        "period": row.period,
        "as_of": as_utc(row.as_of),
        "withdrawn_at": as_utc(row.withdrawn_at) if row.withdrawn_at is not None else None,
    }


def period_days(year: int, period: str) -> tuple[date, date]:
    """The first and last day of a period of `year` (`year` or `Q1`..`Q4`)."""
    if period not in PERIODS:
        raise Invalid("publication_unknown_period", period=period, periods=list(PERIODS))
    if period == "year":
        return date(year, 1, 1), date(year, 12, 31)
    return quarter_days(year, int(period[1]))


def _as_of(
    year: int, period: str, as_of: date | datetime | None, now: datetime, timezone: str
) -> datetime:
    """The moment the standings of a publication are computed at (see the module's rules)."""
    first, last = period_days(year, period)
    start = end_of_day(first - timedelta(days=1), timezone)  # the first instant of the period
    end = end_of_day(last, timezone)
    if as_of is None:
        if now < start:
            raise Invalid("publication_period_not_started", period=period, year=year, start=first)
        return min(now, end)
    if isinstance(as_of, datetime):
        moment = as_utc(as_of)
        if moment > now:
            raise Invalid("publication_as_of_in_future", as_of=local_date(moment, timezone))
    else:
        today = local_date(now, timezone)
        if as_of > today:
            raise Invalid("publication_as_of_in_future", as_of=as_of)
        moment = min(end_of_day(as_of, timezone), now)
    if not start < moment <= end:
        raise Invalid(
            "publication_as_of_outside_period",
            as_of=local_date(moment, timezone),
            period=period,
            year=year,
            start=first,
            end=last,
        )
    return moment


def require_approved_result(uow: UnitOfWork, year: int) -> None:
    """Refuse, inside an open unit of work, unless the newest result of `year` is approved:
    `NotFound("result_none")` without one, `Invalid("result_not_approved")` otherwise."""
    # Locked until the commit: a draft frozen meanwhile (superseding the approved result)
    # waits for this publication rather than slipping in between the check and the commit.
    row = uow.repository(YearResults).latest(year, lock=True)
    if row is None:
        raise NotFound("result_none", year=year)
    if row.status != ResultStatus.APPROVED:
        raise Invalid("result_not_approved", year=year, status=row.status)


def publish_standings(
    uow: UnitOfWork,
    actor: Actor,
    year: int,
    period: str = "year",
    as_of: date | datetime | None = None,
) -> PublicationView:
    """A coordinator publishes the standings of `year` (of a period) as of a moment (now, or
    the end of the day given, never after the period's end); units may then see their own.
    The year itself only while its newest result is approved (see require_approved_result)."""
    require_role(actor, Role.COORDINATOR)
    if period not in PERIODS:
        raise Invalid("publication_unknown_period", period=period, periods=list(PERIODS))
    with uow:
        require_year_open(uow, year)
        timezone = plan_in_force(uow, year).timezone  # NotFound("no_plan") without a plan
        if period == "year":
            require_approved_result(uow, year)
        now = as_utc(uow.now())
        moment = _as_of(year, period, as_of, now, timezone)
        row = uow.repository(Publications).add(
            Publication(
                year=year,
                period=period,
                as_of=moment,
                published_at=now,
                published_by=actor.person_id,
                withdrawn_at=None,
            )
        )
        uow.flush()
        after = _snapshot(row)
        uow.audit(actor.audit_name, "standings.publish", "publication", row.id, None, after)
        uow.commit()
        return _view(row, timezone)


def withdraw_publication(uow: UnitOfWork, actor: Actor, publication_id: int) -> PublicationView:
    """A coordinator withdraws a publication (once): units no longer see it; an older one
    still in force shows again."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        publications = uow.repository(Publications)
        row = publications.by_id(publication_id, lock=True)
        if row is None:
            raise NotFound("publication_not_found", publication_id=publication_id)
        if row.withdrawn_at is not None:
            raise Invalid("publication_already_withdrawn", publication_id=publication_id)
        require_year_open(uow, row.year)
        before = _snapshot(row)
        row.withdrawn_at = uow.now()
        after = _snapshot(row)
        uow.audit(actor.audit_name, "standings.withdraw", "publication", row.id, before, after)
        timezone = plan_in_force(uow, row.year).timezone
        uow.commit()
        return _view(row, timezone)


def latest_publication(uow: UnitOfWork, year: int) -> PublicationView | None:
    """The publication of `year` in force (the newest not withdrawn), None if there is none."""
    with uow:
        row = uow.repository(Publications).latest(year)
        if row is None:
            return None
        return _view(row, plan_in_force(uow, year).timezone)


def year_publications(uow: UnitOfWork, actor: Actor, year: int) -> list[PublicationView]:
    """Every publication of a year, withdrawn ones too, oldest first (coordinators)."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        rows = uow.repository(Publications).of_year(year)
        if not rows:
            return []
        timezone = plan_in_force(uow, year).timezone
        return [_view(row, timezone) for row in rows]


def unit_explanation(uow: UnitOfWork, actor: Actor, publication_id: int) -> UnitScore:
    """Why the liaison's own unit scored what it did in a publication (never another unit's);
    the standings are computed as of the publication's moment (slow: call it off the loop)."""
    require_role(actor, Role.LIAISON)
    if actor.unit_id is None:
        raise Refused("not_your_unit")
    with uow:
        row = uow.repository(Publications).by_id(publication_id)
        if row is None or row.withdrawn_at is not None:
            raise NotFound("publication_not_found", publication_id=publication_id)
        year, moment = row.year, as_utc(row.as_of)
        code = uow.repository(Publications).unit_code(actor.unit_id)
    if code is None:
        raise NotFound("publication_unit_not_ranked")
    standings = compute_standings(uow, year, moment)
    try:
        explanation = standings.explain(code)
    except KeyError as exc:
        raise NotFound("publication_unit_not_ranked") from exc
    plan = standings.plan
    return UnitScore(
        explanation=explanation,
        categories={c.code: c.name for c in plan.development.categories},
        when_all_equal=plan.development.when_all_equal.value,
        missing_value=plan.development.missing_value.value,
        trim_above=plan.work.trim_above,
    )


def published_score(uow: UnitOfWork, actor: Actor, year: int) -> PublishedScore | None:
    """The liaison's unit's score in the publication of `year` in force; None if the year's
    standings are not published."""
    require_role(actor, Role.LIAISON)
    publication = latest_publication(uow, year)
    if publication is None:
        return None
    return PublishedScore(publication, unit_explanation(uow, actor, publication.id))


# ---------------------------------------------------------------------------------------------
# Who receives a publication


@dataclass(frozen=True)
class Liaison:
    """A liaison to receive their unit's report."""

    telegram_id: int
    name: str
    language: str


@dataclass(frozen=True)
class Audience:
    """The active units and, by unit code, their active liaisons."""

    units: tuple[UnitRef, ...]
    liaisons: dict[str, tuple[Liaison, ...]]

    @property
    def reached_units(self) -> list[UnitRef]:
        """The units with at least one liaison."""
        return [u for u in self.units if self.liaisons.get(u.code)]

    @property
    def without_liaison(self) -> list[UnitRef]:
        """The units with no liaison."""
        return [u for u in self.units if not self.liaisons.get(u.code)]

    @property
    def liaison_count(self) -> int:
        """How many liaisons there are in all."""
        return sum(len(v) for v in self.liaisons.values())


def load_audience(uow: UnitOfWork, actor: Actor, default_language: str) -> Audience:
    """The active units and their active liaisons with a Telegram account, each with the
    language they read (their own choice, else the bot's default), read in one unit of work
    (coordinators and admins)."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        every_unit = uow.repository(Units).all(include_inactive=True)
        codes = {row.id: row.code for row in every_unit}
        units = tuple(UnitRef(u.id, u.code, u.name, u.group) for u in uow.repository(Units).all())
        liaisons: dict[str, list[Liaison]] = defaultdict(list)
        for person in uow.repository(People).all():
            code = codes.get(person.unit_id) if person.unit_id else None
            if (
                Role(person.role) is Role.LIAISON
                and person.active
                and person.telegram_user_id is not None
                and code is not None
            ):
                liaisons[code].append(
                    Liaison(
                        person.telegram_user_id,
                        person.display_name,
                        normalise_language(person.language or default_language),
                    )
                )
    return Audience(units, {code: tuple(v) for code, v in liaisons.items()})
