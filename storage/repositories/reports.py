"""Monthly progress reports (月跟踪), their versions, evidence links and month closures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import aliased, selectinload

from storage.clock import as_utc
from storage.models import (
    EvidenceRow,
    ExtensionRequest,
    MonthClosure,
    PlanVersion,
    ProgressReport,
    ReportEntry,
    ReportEvidence,
    TaskRow,
    UnitRow,
    YearClosure,
)
from storage.statuses import EntryStatus, ExtensionDecision
from storage.unit_of_work import Repository


class FirstReport(NamedTuple):
    """The first version of a unit's report for a month: what counts for scoring."""

    submitted_at: datetime
    on_time: bool


class UnitBrief(NamedTuple):
    """What the month states need of a unit."""

    id: int
    code: str
    name: str
    group: str
    active: bool


class LatestReport(NamedTuple):
    """The newest version of a unit's report for a month."""

    unit_id: int
    version: int
    receipt: str


class SubmissionHead(NamedTuple):
    """The unit a report is submitted for, locked, and the plan of the year (read with the
    lock: a submission's first statement)."""

    unit_code: str
    plan_version: int | None  # None: the year has no plan
    plan_text: str | None


class SubmissionState(NamedTuple):
    """What a submission checks and numbers its version by, read once the unit is locked."""

    year_closed: bool
    extension: date | None  # the latest granted new deadline of the month, if any
    versions: int  # the versions stored for the month
    first_on_time: bool | None  # whether the first of them was on time
    task_codes: dict[int, str]  # the unit's tasks of the year: code by task id
    evidence_found: int  # how many of the evidence ids asked about are registered


class EntryRow(NamedTuple):
    """One task's entry of a report version, as a plain row."""

    task_id: int
    status: EntryStatus
    figure: str
    note: str


class YearTask(NamedTuple):
    """A task of a unit's year, as a plain row."""

    id: int
    year: int
    unit_id: int
    code: str
    title: str
    source_document: str
    target: str
    due_date: date | None
    work_item: str


class UnitYear(NamedTuple):
    """A unit's brief, its tasks of a year by code, and when it got the first of them."""

    unit: UnitBrief
    tasks: tuple[YearTask, ...]
    first_task: datetime | None


class VersionRow(NamedTuple):
    """A report version with its entries (in the order they were stored), as plain rows."""

    id: int
    unit_id: int
    year: int
    month: int
    version: int
    receipt: str
    submitted_at: datetime
    submitted_by: int | None
    due_at: datetime
    on_time: bool
    entries: tuple[EntryRow, ...]


_REPORTS = cast(Table, ProgressReport.__table__)
_ENTRIES = cast(Table, ReportEntry.__table__)
_EVIDENCE_LINKS = cast(Table, ReportEvidence.__table__)
_UNITS = cast(Table, UnitRow.__table__)
# A submission's statements, built once (SQLAlchemy then reuses their compiled form).
_PLANS = cast(Table, PlanVersion.__table__)
_TASKS = cast(Table, TaskRow.__table__)
_REQUESTS = cast(Table, ExtensionRequest.__table__)
_CLOSURES = cast(Table, YearClosure.__table__)
_EVIDENCE_ROWS = cast(Table, EvidenceRow.__table__)
_NEWEST_PLAN = (
    select(_PLANS.c.id)
    .where(_PLANS.c.year == bindparam("year"))
    .order_by(_PLANS.c.version.desc())
    .limit(1)
    .scalar_subquery()
)
# The lock (as Reports.lock_unit) and the plan (as Plans.current_text) in one round trip.
_SUBMISSION_HEAD = (
    select(_UNITS.c.code, _PLANS.c.version, _PLANS.c.yaml_text)
    .select_from(
        _UNITS.outerjoin(_PLANS, _PLANS.c.id == _NEWEST_PLAN),
    )
    .where(_UNITS.c.id == bindparam("unit_id"))
    .with_for_update(of=_UNITS)
)
_MONTH_VERSIONS = and_(
    _REPORTS.c.unit_id == bindparam("unit_id"),
    _REPORTS.c.year == bindparam("year"),
    _REPORTS.c.month == bindparam("month"),
)
# Everything else a submission reads, in one round trip once the unit is locked (each value as
# its own repository method reads it): one row per task of the unit and year, or one row with
# no task.
_SUBMISSION_STATE = (
    select(
        exists().where(_CLOSURES.c.year == bindparam("year")).label("closed"),
        select(_REQUESTS.c.requested_date)
        .where(
            _REQUESTS.c.unit_id == bindparam("unit_id"),
            _REQUESTS.c.report_year == bindparam("year"),
            _REQUESTS.c.report_month == bindparam("month"),
            _REQUESTS.c.decision == "granted",
        )
        .order_by(_REQUESTS.c.decided_at.desc(), _REQUESTS.c.id.desc())
        .limit(1)
        .scalar_subquery()
        .label("extension"),
        select(func.count()).where(_MONTH_VERSIONS).scalar_subquery().label("versions"),
        select(_REPORTS.c.on_time)
        .where(_MONTH_VERSIONS)
        .order_by(_REPORTS.c.version)
        .limit(1)
        .scalar_subquery()
        .label("first_on_time"),
        select(func.count())
        .where(_EVIDENCE_ROWS.c.id.in_(bindparam("evidence_ids", expanding=True)))
        .scalar_subquery()
        .label("evidence_found"),
        _TASKS.c.id,
        _TASKS.c.code,
    )
    .select_from(
        _UNITS.outerjoin(
            _TASKS, and_(_TASKS.c.unit_id == _UNITS.c.id, _TASKS.c.year == bindparam("year"))
        )
    )
    .where(_UNITS.c.id == bindparam("unit_id"))
)
_NEW_REPORT = insert(_REPORTS)
_NEW_ENTRY = insert(_ENTRIES)
_NEW_EVIDENCE_LINK = insert(_EVIDENCE_LINKS)

# What /report opens with and a report's history read, built once (Core rows, no ORM objects:
# building a statement and loading objects cost more than running the statement).
_VERSION_COLUMNS = (
    _REPORTS.c.id,
    _REPORTS.c.unit_id,
    _REPORTS.c.year,
    _REPORTS.c.month,
    _REPORTS.c.version,
    _REPORTS.c.receipt,
    _REPORTS.c.submitted_at,
    _REPORTS.c.submitted_by,
    _REPORTS.c.due_at,
    _REPORTS.c.on_time,
)
_ENTRY_COLUMNS = (_ENTRIES.c.task_id, _ENTRIES.c.status, _ENTRIES.c.figure, _ENTRIES.c.note)
_WITH_ENTRIES = _REPORTS.outerjoin(_ENTRIES, _ENTRIES.c.report_id == _REPORTS.c.id)
_UNIT_YEAR = and_(_REPORTS.c.unit_id == bindparam("unit_id"), _REPORTS.c.year == bindparam("year"))
# Every version of a unit's month, oldest first, one row per entry.
_MONTH_VERSIONS_WITH_ENTRIES = (
    select(*_VERSION_COLUMNS, *_ENTRY_COLUMNS)
    .select_from(_WITH_ENTRIES)
    .where(_MONTH_VERSIONS)
    .order_by(_REPORTS.c.version, _ENTRIES.c.id)
)
# The newest version of the unit's latest month of the year before `month`, one row per entry.
_LATEST_BEFORE = (
    select(*_VERSION_COLUMNS, *_ENTRY_COLUMNS)
    .select_from(_WITH_ENTRIES)
    .where(
        _REPORTS.c.id
        == select(_REPORTS.c.id)
        .where(_UNIT_YEAR, _REPORTS.c.month < bindparam("month"))
        .order_by(_REPORTS.c.month.desc(), _REPORTS.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    .order_by(_ENTRIES.c.id)
)
# The newest version of the month and that of the latest earlier month of the year, in one
# statement (one row per entry; telling them apart by their month).
_LATEST_AND_BEFORE = (
    select(*_VERSION_COLUMNS, *_ENTRY_COLUMNS)
    .select_from(_WITH_ENTRIES)
    .where(
        or_(
            _REPORTS.c.id
            == select(_REPORTS.c.id)
            .where(_MONTH_VERSIONS)
            .order_by(_REPORTS.c.version.desc())
            .limit(1)
            .scalar_subquery(),
            _REPORTS.c.id
            == select(_REPORTS.c.id)
            .where(_UNIT_YEAR, _REPORTS.c.month < bindparam("month"))
            .order_by(_REPORTS.c.month.desc(), _REPORTS.c.version.desc())
            .limit(1)
            .scalar_subquery(),
        )
    )
    .order_by(_REPORTS.c.id, _ENTRIES.c.id)
)
_LINKS_OF = (
    select(_EVIDENCE_LINKS.c.report_id, _EVIDENCE_LINKS.c.task_id, _EVIDENCE_LINKS.c.evidence_id)
    .where(_EVIDENCE_LINKS.c.report_id.in_(bindparam("report_ids", expanding=True)))
    .order_by(_EVIDENCE_LINKS.c.id)
)
_EXISTING_EVIDENCE = select(_EVIDENCE_ROWS.c.id).where(
    _EVIDENCE_ROWS.c.id.in_(bindparam("ids", expanding=True))
)
# A unit with its tasks of a year, by code (one row with no task columns if it has none).
_UNIT_WITH_TASKS = (
    select(
        _UNITS.c.id,
        _UNITS.c.code,
        _UNITS.c.name,
        _UNITS.c.group,
        _UNITS.c.active,
        _TASKS.c.id,
        _TASKS.c.year,
        _TASKS.c.unit_id,
        _TASKS.c.code,
        _TASKS.c.title,
        _TASKS.c.source_document,
        _TASKS.c.target,
        _TASKS.c.due_date,
        _TASKS.c.work_item,
        _TASKS.c.created_at,
    )
    .select_from(
        _UNITS.outerjoin(
            _TASKS, and_(_TASKS.c.unit_id == _UNITS.c.id, _TASKS.c.year == bindparam("year"))
        )
    )
    .where(_UNITS.c.id == bindparam("unit_id"))
    .order_by(_TASKS.c.code)
)
_MONTH_CLOSURES = cast(Table, MonthClosure.__table__)
_CLOSURES_OF_YEAR = select(_MONTH_CLOSURES.c.month, _MONTH_CLOSURES.c.closed_at).where(
    _MONTH_CLOSURES.c.year == bindparam("year")
)
# The month states of one unit's year in one statement (one round trip): its first versions
# (part 0), its granted report extensions, later decisions last (part 1), and the year's month
# closures (part 2); each part's other columns NULL, typed as the first part types them.
_FIRSTS, _EXTENSION, _CLOSURE = 0, 1, 2
_AT_TYPE = _REPORTS.c.submitted_at.type
_UNIT_MONTH_BASIS = union_all(
    select(
        literal_column(str(_FIRSTS)).label("part"),
        _REPORTS.c.month,
        _REPORTS.c.submitted_at.label("at"),
        _REPORTS.c.on_time.label("flag"),
        sql_cast(null(), _REQUESTS.c.requested_date.type).label("day"),
        sql_cast(null(), _REQUESTS.c.decided_at.type).label("decided_at"),
        sql_cast(null(), _REQUESTS.c.id.type).label("seq"),
    ).where(_UNIT_YEAR, _REPORTS.c.version == 1),
    select(
        literal_column(str(_EXTENSION)),
        _REQUESTS.c.report_month,
        sql_cast(null(), _AT_TYPE),
        sql_cast(null(), _REPORTS.c.on_time.type),
        _REQUESTS.c.requested_date,
        _REQUESTS.c.decided_at,
        _REQUESTS.c.id,
    ).where(
        _REQUESTS.c.unit_id == bindparam("unit_id"),
        _REQUESTS.c.report_year == bindparam("year"),
        _REQUESTS.c.report_month.is_not(None),
        _REQUESTS.c.decision == ExtensionDecision.GRANTED,
    ),
    select(
        literal_column(str(_CLOSURE)),
        _MONTH_CLOSURES.c.month,
        _MONTH_CLOSURES.c.closed_at,
        sql_cast(null(), _REPORTS.c.on_time.type),
        sql_cast(null(), _REQUESTS.c.requested_date.type),
        sql_cast(null(), _REQUESTS.c.decided_at.type),
        sql_cast(null(), _REQUESTS.c.id.type),
    ).where(_MONTH_CLOSURES.c.year == bindparam("year")),
).order_by(literal_column("part"), literal_column("decided_at"), literal_column("seq"))


def _version_rows(rows: Iterable[Any]) -> list[VersionRow]:
    """Versions from rows of _VERSION_COLUMNS and _ENTRY_COLUMNS (one row per entry, a
    version's rows together; entry columns None for a version without entries)."""
    out: list[VersionRow] = []
    head: tuple[Any, ...] | None = None
    entries: list[EntryRow] = []
    width = len(_VERSION_COLUMNS)
    for row in rows:
        if head is None or row[0] != head[0]:
            if head is not None:
                out.append(VersionRow(*head, tuple(entries)))  # type: ignore[call-arg]
            head, entries = tuple(row[:width]), []
        if row[width] is not None:
            entries.append(EntryRow(*row[width:]))
    if head is not None:
        out.append(VersionRow(*head, tuple(entries)))  # type: ignore[call-arg]
    return out


class Reports(Repository):
    """Progress report versions, their entries and evidence, and month closures."""

    def lock_unit(self, unit_id: int) -> UnitRow | None:
        """The unit, locked until the end of the transaction on PostgreSQL, so that two
        submissions of one unit number their versions one after the other (SQLite writers are
        serialised by BEGIN IMMEDIATE already)."""
        return self.session.execute(
            select(UnitRow).where(UnitRow.id == unit_id).with_for_update()
        ).scalar_one_or_none()

    def lock_for_submission(self, unit_id: int, year: int) -> SubmissionHead | None:
        """The unit's code, locked as `lock_unit` locks it, and the newest plan of `year`
        (None: no such unit)."""
        row = (
            self.session.connection()
            .execute(_SUBMISSION_HEAD, {"unit_id": unit_id, "year": year})
            .first()
        )
        if row is None:
            return None
        code, version, text = row
        return SubmissionHead(
            str(code), None if version is None else int(version), None if text is None else text
        )

    def submission_state(
        self, unit_id: int, year: int, month: int, evidence_ids: Iterable[int] = ()
    ) -> SubmissionState:
        """Whether `year` is closed, the month's granted extension, its stored versions, the
        unit's tasks of the year and how many of `evidence_ids` (distinct) are registered;
        read after `lock_for_submission`, so that the versions are those committed before this
        submission got the lock."""
        parameters = {
            "unit_id": unit_id,
            "year": year,
            "month": month,
            "evidence_ids": list(set(evidence_ids)),
        }
        rows = self.session.connection().execute(_SUBMISSION_STATE, parameters).all()
        closed, extension, versions, first_on_time, found, _, _ = rows[0]
        return SubmissionState(
            year_closed=bool(closed),
            extension=extension,
            versions=int(versions),
            first_on_time=None if first_on_time is None else bool(first_on_time),
            task_codes={row[5]: row[6] for row in rows if row[5] is not None},
            evidence_found=int(found),
        )

    def insert(self, values: dict[str, Any]) -> int:
        """Insert a report version (columns of ProgressReport); its id."""
        key = self.session.connection().execute(_NEW_REPORT, values).inserted_primary_key
        assert key is not None
        return int(key[0])

    def insert_entries(self, rows: list[dict[str, Any]]) -> None:
        """Insert the entries of a report version (columns of ReportEntry)."""
        if rows:
            self.session.connection().execute(_NEW_ENTRY, rows)

    def insert_evidence_links(
        self, report_id: int, links: Iterable[tuple[int | None, int]]
    ) -> None:
        """Attach evidence files to a report version, in this order: (task id, evidence id),
        task id None for a file of the whole report."""
        rows = [
            {"report_id": report_id, "task_id": task_id, "evidence_id": evidence_id}
            for task_id, evidence_id in links
        ]
        if rows:
            self.session.connection().execute(_NEW_EVIDENCE_LINK, rows)

    def add(self, report: ProgressReport) -> ProgressReport:
        """Add a report version (its id is set on flush)."""
        self.session.add(report)
        return report

    def add_entry(self, entry: ReportEntry) -> ReportEntry:
        """Add one task's entry of a report version."""
        self.session.add(entry)
        return entry

    def add_evidence(self, link: ReportEvidence) -> ReportEvidence:
        """Attach an evidence file to a report version."""
        self.session.add(link)
        return link

    def versions(self, unit_id: int, year: int, month: int) -> list[ProgressReport]:
        """Every version of a unit's report for a month, oldest first, entries loaded."""
        return list(
            self.session.execute(
                select(ProgressReport)
                .where(
                    ProgressReport.unit_id == unit_id,
                    ProgressReport.year == year,
                    ProgressReport.month == month,
                )
                .options(selectinload(ProgressReport.entries))
                .order_by(ProgressReport.version)
            ).scalars()
        )

    def version_rows(self, unit_id: int, year: int, month: int) -> list[VersionRow]:
        """Every version of a unit's report for a month, oldest first, with its entries (plain
        rows, one statement)."""
        parameters = {"unit_id": unit_id, "year": year, "month": month}
        return _version_rows(
            self.session.connection().execute(_MONTH_VERSIONS_WITH_ENTRIES, parameters)
        )

    def latest_and_before(
        self, unit_id: int, year: int, month: int
    ) -> tuple[VersionRow | None, VersionRow | None]:
        """`latest_version` and `latest_before` in one statement."""
        parameters = {"unit_id": unit_id, "year": year, "month": month}
        rows = _version_rows(self.session.connection().execute(_LATEST_AND_BEFORE, parameters))
        latest = next((r for r in rows if r.month == month), None)
        before = next((r for r in rows if r.month != month), None)
        return latest, before

    def latest_before(self, unit_id: int, year: int, month: int) -> VersionRow | None:
        """The newest version of the unit's latest report for a month of `year` before
        `month`, with its entries (one statement)."""
        parameters = {"unit_id": unit_id, "year": year, "month": month}
        rows = _version_rows(self.session.connection().execute(_LATEST_BEFORE, parameters))
        return rows[0] if rows else None

    def evidence_of(self, report_ids: Iterable[int]) -> dict[int, list[int]]:
        """The evidence ids attached to each of these report versions."""
        wanted = set(report_ids)
        out: dict[int, list[int]] = {rid: [] for rid in wanted}
        if not wanted:
            return out
        rows = self.session.execute(
            select(ReportEvidence.report_id, ReportEvidence.evidence_id)
            .where(ReportEvidence.report_id.in_(wanted))
            .order_by(ReportEvidence.id)
        ).all()
        for report_id, evidence_id in rows:
            out[report_id].append(evidence_id)
        return out

    def evidence_links(self, report_ids: Iterable[int]) -> dict[int, list[tuple[int | None, int]]]:
        """The (task_id, evidence_id) links of each of these report versions, in the order
        they were made (task_id None: a file of the whole report)."""
        wanted = set(report_ids)
        out: dict[int, list[tuple[int | None, int]]] = {rid: [] for rid in wanted}
        if not wanted:
            return out
        rows = self.session.connection().execute(_LINKS_OF, {"report_ids": list(wanted)})
        for report_id, task_id, evidence_id in rows:
            out[report_id].append((task_id, evidence_id))
        return out

    def existing_evidence(self, ids: Iterable[int]) -> set[int]:
        """Which of these evidence ids exist."""
        wanted = set(ids)
        if not wanted:
            return set()
        rows = self.session.connection().execute(_EXISTING_EVIDENCE, {"ids": list(wanted)})
        return {row[0] for row in rows}

    def first_versions(
        self, year: int, month: int | None = None
    ) -> dict[tuple[int, int], FirstReport]:
        """The first version of every unit's report of `year` (or of one month), by
        (unit id, month)."""
        query = select(
            ProgressReport.unit_id,
            ProgressReport.month,
            ProgressReport.submitted_at,
            ProgressReport.on_time,
        ).where(ProgressReport.year == year, ProgressReport.version == 1)
        if month is not None:
            query = query.where(ProgressReport.month == month)
        # Called for a whole year of every unit (24,000 rows for 2,000 units): plain Core rows,
        # and naive times (SQLite's) only marked as UTC rather than each one converted.
        return {
            (unit_id, m): FirstReport(at if at.tzinfo else at.replace(tzinfo=UTC), bool(on_time))
            for unit_id, m, at, on_time in self.session.connection().execute(query)
        }

    def first_versions_as_of(
        self, year: int, at: datetime
    ) -> dict[tuple[int, int], tuple[bool, bool]]:
        """For each first version of `year` submitted by `at`, by (unit id, month): whether it
        was on time, and whether it came before its month's closure (False if not closed)."""
        closure = aliased(MonthClosure)
        before_closure = and_(
            closure.closed_at.is_not(None), ProgressReport.submitted_at <= closure.closed_at
        )
        query = (
            select(
                ProgressReport.unit_id,
                ProgressReport.month,
                ProgressReport.on_time,
                case((before_closure, True), else_=False),
            )
            .outerjoin(
                closure,
                and_(closure.year == ProgressReport.year, closure.month == ProgressReport.month),
            )
            .where(
                ProgressReport.year == year,
                ProgressReport.version == 1,
                ProgressReport.submitted_at <= at,
            )
        )
        # A year of every unit (24,000 rows for 2,000 units): the driver's rows (booleans may be
        # 0/1), made into the dict column-wise without a Python loop over the rows.
        result = self.session.connection().execute(query)
        try:
            rows = result.cursor.fetchall()
        finally:
            result.close()
        keys = zip(map(itemgetter(0), rows), map(itemgetter(1), rows), strict=True)
        states = zip(
            map(bool, map(itemgetter(2), rows)), map(bool, map(itemgetter(3), rows)), strict=True
        )
        return dict(zip(keys, states, strict=True))

    def units(self) -> list[UnitBrief]:
        """Every unit (inactive ones too) as plain values, towns first, then by code."""
        rows = self.session.execute(
            select(UnitRow.id, UnitRow.code, UnitRow.name, UnitRow.group, UnitRow.active)
        ).all()
        units = [
            UnitBrief(i, code, name, group, bool(active)) for i, code, name, group, active in rows
        ]
        return sorted(units, key=lambda u: (u.group != "town", u.code))

    def latest_versions(self, year: int, month: int) -> dict[int, LatestReport]:
        """The newest version of each unit's report for one month."""
        rows = self.session.execute(
            select(ProgressReport.unit_id, ProgressReport.version, ProgressReport.receipt).where(
                ProgressReport.year == year, ProgressReport.month == month
            )
        ).all()
        out: dict[int, LatestReport] = {}
        for unit_id, version, receipt in rows:
            if unit_id not in out or out[unit_id].version < version:
                out[unit_id] = LatestReport(unit_id, version, receipt)
        return out

    def closure(self, year: int, month: int) -> MonthClosure | None:
        """The closure of a month, if it was closed."""
        return self.session.execute(
            select(MonthClosure).where(MonthClosure.year == year, MonthClosure.month == month)
        ).scalar_one_or_none()

    def closures(self, year: int) -> dict[int, datetime]:
        """When each closed month of `year` was closed."""
        rows = self.session.connection().execute(_CLOSURES_OF_YEAR, {"year": year})
        return {month: as_utc(at) for month, at in rows}

    def add_closure(self, row: MonthClosure) -> MonthClosure:
        """Record that a month was closed."""
        self.session.add(row)
        return row

    def granted_extensions(self, year: int) -> dict[tuple[int, int], date]:
        """The newest granted new deadline of each unit's report per month of `year`
        (the same rule as `Extensions.granted_report_extension`, for every unit at once)."""
        rows = self.session.execute(
            select(
                ExtensionRequest.unit_id,
                ExtensionRequest.report_month,
                ExtensionRequest.requested_date,
            )
            .where(
                ExtensionRequest.report_year == year,
                ExtensionRequest.report_month.is_not(None),
                ExtensionRequest.decision == ExtensionDecision.GRANTED,
            )
            .order_by(ExtensionRequest.decided_at, ExtensionRequest.id)
        ).all()
        # Later decisions come last and win; the query excludes rows without a month.
        return {(unit_id, int(month or 0)): day for unit_id, month, day in rows}

    def unit_with_tasks(self, unit_id: int, year: int) -> UnitYear | None:
        """The unit's brief, its tasks of `year` by code and when it got the first of them
        (as Tasks.first_task_time), in one statement; None: no such unit."""
        rows = (
            self.session.connection()
            .execute(_UNIT_WITH_TASKS, {"unit_id": unit_id, "year": year})
            .all()
        )
        if not rows:
            return None
        head = rows[0]
        unit = UnitBrief(head[0], head[1], head[2], head[3], bool(head[4]))
        tasks = tuple(YearTask(*row[5:14]) for row in rows if row[5] is not None)
        times = [as_utc(row[14]) for row in rows if row[5] is not None]
        return UnitYear(unit, tasks, min(times) if times else None)

    def unit_month_basis(
        self, unit_id: int, year: int
    ) -> tuple[
        dict[tuple[int, int], FirstReport], dict[tuple[int, int], date], dict[int, datetime]
    ]:
        """The first versions of the unit's reports of `year` and its granted report
        extensions, keyed like `first_versions` and `granted_extensions`, and the year's month
        closures as `closures` gives them, in one statement (one liaison's view reads only its
        own unit's)."""
        rows = self.session.connection().execute(
            _UNIT_MONTH_BASIS, {"unit_id": unit_id, "year": year}
        )
        firsts: dict[tuple[int, int], FirstReport] = {}
        extensions: dict[tuple[int, int], date] = {}
        closures: dict[int, datetime] = {}
        for part, month, at, flag, day, _, _ in rows:
            if part == _FIRSTS:
                firsts[(unit_id, month)] = FirstReport(as_utc(at), bool(flag))
            elif part == _EXTENSION:
                # Later decisions come last and win, as in `granted_extensions`.
                extensions[(unit_id, int(month or 0))] = day
            else:
                closures[month] = as_utc(at)
        return firsts, extensions, closures
