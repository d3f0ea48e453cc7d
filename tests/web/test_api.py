"""The dashboard's JSON API: who may sign in, what each role sees, and the security headers."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from services.access import Actor
from services.dashboard import issue_dashboard_link, user_by_telegram_id
from services.files.activity_reader import ActivityInput
from services.people import deactivate_person
from services.publications import publish_standings
from services.standings import compute_standings
from services.supervision_plan import add_activity
from storage.clock import FixedClock
from storage.database import Database
from storage.statuses import SupervisionKind
from storage.unit_of_work import UnitOfWork
from templates import render
from tests.services.district import approve_year
from tests.web.conftest import dashboard_client, tma
from tests.web.district import (
    COORDINATOR,
    ENGLISH_VIEWER,
    LIAISON,
    NOW,
    OTHER_LIAISON,
    VIEWER,
    YEAR,
)
from web.auth import INIT_DATA_MAX_AGE


async def test_signed_init_data_gets_the_standings_as_the_command_line_gives_them(
    client: httpx.AsyncClient, district: Database
) -> None:
    answer = await client.get(f"/api/standings?year={YEAR}", headers=tma(COORDINATOR.telegram_id))
    assert answer.status_code == 200
    data = answer.json()
    expected = compute_standings(UnitOfWork(district, FixedClock(NOW), read_only=True), YEAR)
    assert {"year": data["year"], "groups": data["groups"]} == expected.to_json()
    assert data["as_of"] == "2025-06-10 10:00"
    assert data["published"] is False
    assert answer.headers["cache-control"] == "no-store"


STRANGERS: dict[str, dict[str, str]] = {
    "nothing": {},
    "forged": tma(COORDINATOR.telegram_id, token="123456:another-bot"),
    "stale": tma(COORDINATOR.telegram_id, age=INIT_DATA_MAX_AGE.total_seconds() + 60),
    "from the future": tma(COORDINATOR.telegram_id, age=-3600),
    "unknown user": tma(424242),
    "garbage": {"Authorization": "tma user=%7B%7D&hash=00"},
    "another scheme": {"Authorization": "Bearer abc"},
    "forged cookie": {"Cookie": "kaohe_session=1.99999999999.deadbeef"},
}


async def test_strangers_get_401_and_nothing_else(sqlite_client: httpx.AsyncClient) -> None:
    paths = ("/api/me", f"/api/standings?year={YEAR}", "/api/units/dianzi", "/api/matrix")
    for case, headers in STRANGERS.items():
        for path in paths:
            answer = await sqlite_client.get(path, headers=headers)
            assert answer.status_code == 401, (case, path)
            assert answer.json() == {
                "error": "web_unauthorized",
                "message": render("errors.web_unauthorized", "zh"),
            }
    # The same requests signed rightly get in.
    assert (await sqlite_client.get("/api/me", headers=tma(COORDINATOR.telegram_id))).is_success


async def test_init_data_with_a_changed_field_is_refused(
    sqlite_client: httpx.AsyncClient,
) -> None:
    client = sqlite_client
    header = tma(LIAISON.telegram_id)["Authorization"]
    # The liaison's signed data, rewritten to claim the coordinator's account.
    forged = header.replace(
        f"%22id%22%3A+{LIAISON.telegram_id}", f"%22id%22%3A+{COORDINATOR.telegram_id}"
    )
    assert forged != header
    answer = await client.get("/api/me", headers={"Authorization": forged})
    assert answer.status_code == 401


async def test_a_liaison_sees_nothing_before_publication_then_only_their_own_unit(
    client: httpx.AsyncClient, district: Database
) -> None:
    headers = tma(LIAISON.telegram_id)
    before = await client.get(f"/api/standings?year={YEAR}", headers=headers)
    assert before.status_code == 404
    assert before.json()["error"] == "standings_not_published"
    coordinator = user_by_telegram_id(
        UnitOfWork(district, FixedClock(NOW)), COORDINATOR.telegram_id
    )
    assert coordinator is not None
    approve_year(lambda: UnitOfWork(district, FixedClock(NOW)), coordinator.actor, YEAR)
    publish_standings(UnitOfWork(district, FixedClock(NOW)), coordinator.actor, YEAR)
    after = await client.get(f"/api/standings?year={YEAR}", headers=headers)
    assert after.status_code == 200
    rows = [e for entries in after.json()["groups"].values() for e in entries]
    assert [r["unit"] for r in rows] == ["dianzi"]
    own = await client.get(f"/api/units/dianzi?year={YEAR}", headers=headers)
    assert own.status_code == 200
    assert own.json()["explanation"]["result"]["code"] == "dianzi"
    other = await client.get(f"/api/units/xiji?year={YEAR}", headers=headers)
    assert other.status_code == 403
    assert other.json()["message"] == render("errors.not_your_unit", "zh")


async def test_roles_as_in_the_bot(client: httpx.AsyncClient) -> None:
    viewer, liaison = tma(VIEWER.telegram_id), tma(OTHER_LIAISON.telegram_id)
    coordinator = tma(COORDINATOR.telegram_id)
    assert (await client.get(f"/api/units/xiji?year={YEAR}", headers=viewer)).status_code == 200
    assert (await client.get(f"/api/matrix?year={YEAR}", headers=viewer)).status_code == 403
    assert (await client.get(f"/api/findings?year={YEAR}", headers=viewer)).status_code == 403
    assert (await client.get(f"/api/matrix?year={YEAR}", headers=liaison)).status_code == 403
    matrix = await client.get(f"/api/matrix?year={YEAR}", headers=coordinator)
    assert matrix.status_code == 200
    [dianzi] = [r for r in matrix.json()["rows"] if r["unit"] == "dianzi"]
    assert dianzi["months"]["1"]["state"] == "overdue"
    findings = await client.get(f"/api/findings?year={YEAR}", headers=liaison)
    assert findings.status_code == 200
    assert [f["unit"] for f in findings.json()["findings"]] == ["xiji"]
    everyone = await client.get(f"/api/findings?year={YEAR}", headers=coordinator)
    statuses = {f["unit"]: f["status"] for f in everyone.json()["findings"]}
    assert statuses == {"dianzi": "overdue", "xiji": "open"}
    # Nothing here changes anything: the API answers GET only.
    assert (await client.post("/api/standings", headers=coordinator)).status_code == 405


async def test_the_page_texts_follow_the_persons_language(
    sqlite_client: httpx.AsyncClient,
) -> None:
    client = sqlite_client
    zh = (await client.get("/api/me", headers=tma(COORDINATOR.telegram_id))).json()
    assert zh["language"] == "zh" and zh["texts"]["title"] == render("web.title", "zh")
    assert zh["user"] == {
        "name": COORDINATOR.name, "role": "coordinator", "unit": None, "unit_name": None,
        "language": None,
    }  # fmt: skip
    # Telegram's app language counts when the person chose none in the bot.
    en = await client.get("/api/me", headers=tma(ENGLISH_VIEWER.telegram_id, language_code="en"))
    assert en.json()["texts"]["title"] == render("web.title", "en")
    assert en.json()["texts"]["year.group_town"] == render("year.group_town", "en")


async def test_security_headers_on_pages_and_api(sqlite_client: httpx.AsyncClient) -> None:
    client = sqlite_client
    page = await client.get("/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    script = re.search(r"script-src ([^;]*)", csp)
    assert script is not None and script.group(1) == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text and "http" not in page.text.replace("http-equiv", "")
    api = await client.get("/api/me", headers=tma(COORDINATOR.telegram_id))
    assert api.headers["cache-control"] == "no-store"
    assert api.headers["content-security-policy"] == csp


async def test_a_one_time_link_signs_in_once(
    sqlite_client: httpx.AsyncClient, sqlite_district: Database
) -> None:
    client, district = sqlite_client, sqlite_district
    clock = FixedClock(NOW)
    user = user_by_telegram_id(UnitOfWork(district, clock), VIEWER.telegram_id)
    assert user is not None
    link = issue_dashboard_link(UnitOfWork(district, clock), user.actor)
    assert link.expires_at - NOW == timedelta(minutes=10)
    form = await client.get(f"/login?token={link.token}")
    assert form.status_code == 200 and form.headers["cache-control"] == "no-store"
    first = await client.post("/login", data={"token": link.token})
    assert first.status_code == 303
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # served over http here
    me = await client.get("/api/me")
    assert me.status_code == 200 and me.json()["user"]["name"] == VIEWER.name
    client.cookies.clear()
    again = await client.post("/login", data={"token": link.token})
    assert again.status_code == 401
    assert "set-cookie" not in again.headers
    assert (await client.get("/api/me")).status_code == 401


async def test_an_expired_link_session_and_a_deactivated_persons_cookie_are_refused(
    sqlite_district: Database,
) -> None:
    district = sqlite_district
    clock = FixedClock(NOW)
    user = user_by_telegram_id(UnitOfWork(district, clock), VIEWER.telegram_id)
    assert user is not None
    stale = issue_dashboard_link(UnitOfWork(district, clock), user.actor)
    fresh = issue_dashboard_link(UnitOfWork(district, clock), user.actor)
    async with dashboard_client(district, clock) as c:
        clock.advance(minutes=9)
        assert (await c.post("/login", data={"token": fresh.token})).status_code == 303
        clock.advance(minutes=2)
        assert (await c.post("/login", data={"token": stale.token})).status_code == 401
        assert (await c.get("/api/me")).status_code == 200
        clock.advance(hours=12)  # the session's working day is over
        assert (await c.get("/api/me")).status_code == 401
        again = issue_dashboard_link(UnitOfWork(district, clock), user.actor)
        assert (await c.post("/login", data={"token": again.token})).status_code == 303
        assert (await c.get("/api/me")).status_code == 200
        assert user.actor.person_id is not None
        deactivate_person(UnitOfWork(district, clock), Actor.operator(), user.actor.person_id)
        assert (await c.get("/api/me")).status_code == 401


async def test_standings_are_computed_once_and_again_after_a_change(
    sqlite_client: httpx.AsyncClient, sqlite_district: Database
) -> None:
    from scoring import BonusItem
    from services.dashboard import standings_json
    from services.year_data import import_bonus

    clock = FixedClock(NOW)
    coordinator = user_by_telegram_id(UnitOfWork(sqlite_district, clock), COORDINATOR.telegram_id)
    assert coordinator is not None

    def computed() -> dict[str, object]:
        return standings_json(
            UnitOfWork(sqlite_district, clock, read_only=True), coordinator.actor, YEAR
        )

    first = computed()
    assert computed() is first  # nothing changed: the same answer, not computed again
    headers = tma(COORDINATOR.telegram_id)

    async def bonus_of(unit: str) -> float:
        data = (await sqlite_client.get(f"/api/standings?year={YEAR}", headers=headers)).json()
        [entry] = [e for e in data["groups"]["town"] if e["unit"] == unit]
        return float(entry["bonus"])

    assert await bonus_of("xiji") == 0.0
    import_bonus(
        UnitOfWork(sqlite_district, clock),
        coordinator.actor,
        YEAR,
        [BonusItem("xiji", "省级试点", True, "批复")],
        "bonus.xlsx",
    )
    assert await bonus_of("xiji") == 10.0  # the change is seen at once
    assert computed() is not first


async def test_the_report_workbook_downloads_for_viewers_only(
    sqlite_client: httpx.AsyncClient,
) -> None:
    answer = await sqlite_client.get(
        f"/api/report.xlsx?year={YEAR}", headers=tma(VIEWER.telegram_id)
    )
    assert answer.status_code == 200
    assert answer.content[:2] == b"PK"  # an xlsx is a zip
    assert "attachment" in answer.headers["content-disposition"]
    refused = await sqlite_client.get(
        f"/api/report.xlsx?year={YEAR}", headers=tma(LIAISON.telegram_id)
    )
    assert refused.status_code == 403


async def test_a_matrix_cell_opens_the_report(sqlite_client: httpx.AsyncClient) -> None:
    coordinator = tma(COORDINATOR.telegram_id)
    matrix = (await sqlite_client.get(f"/api/matrix?year={YEAR}", headers=coordinator)).json()
    [dianzi] = [r for r in matrix["rows"] if r["unit"] == "dianzi"]
    assert dianzi["months"]["5"]["state"] == "late" and dianzi["months"]["5"]["version"] == 1
    report = await sqlite_client.get(f"/api/reports/dianzi/5?year={YEAR}", headers=coordinator)
    assert report.status_code == 200
    [version] = report.json()["versions"]
    assert version["receipt"] == dianzi["months"]["5"]["receipt"]
    assert version["entries"][0]["figure"] == "40%" and version["on_time"] is False
    viewer = await sqlite_client.get(
        f"/api/reports/dianzi/5?year={YEAR}", headers=tma(VIEWER.telegram_id)
    )
    assert viewer.status_code == 403
    unknown = await sqlite_client.get(f"/api/reports/nowhere/5?year={YEAR}", headers=coordinator)
    assert unknown.status_code == 404


async def test_the_supervision_plan_for_coordinators_and_leaders_only(
    sqlite_district: Database, sqlite_client: httpx.AsyncClient
) -> None:
    clock = FixedClock(NOW)
    coordinator = user_by_telegram_id(UnitOfWork(sqlite_district, clock), COORDINATOR.telegram_id)
    assert coordinator is not None
    planned = ActivityInput(
        NOW.date() + timedelta(days=3), SupervisionKind.ON_SITE_INSPECTION, "重点项目", ("dianzi",)
    )
    added = add_activity(UnitOfWork(sqlite_district, clock), coordinator.actor, YEAR, planned)
    answer = await sqlite_client.get(
        f"/api/supervision_plan?year={YEAR}", headers=tma(VIEWER.telegram_id)
    )
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    [activity] = answer.json()["activities"]
    assert activity["id"] == added.id and activity["focus"] == "重点项目"
    assert activity["planned_on"] == planned.planned_on.isoformat()
    assert (
        activity["kind"] == SupervisionKind.ON_SITE_INSPECTION.value
        and activity["done_on"] is None
    )
    assert [u["code"] for u in activity["units"]] == ["dianzi"]
    refused = await sqlite_client.get(
        f"/api/supervision_plan?year={YEAR}", headers=tma(LIAISON.telegram_id)
    )
    assert refused.status_code == 403
    stranger = await sqlite_client.get(f"/api/supervision_plan?year={YEAR}")
    assert stranger.status_code == 401
