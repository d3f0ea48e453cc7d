"""The dashboard in a real browser: Debian's headless chromium, driven by Playwright.

One browser for the whole session and one live server (uvicorn in a thread, on the seeded
district); each test opens its own page. scripts/browser.sh (sourced by test.sh) installs
chromium and the Noto CJK fonts when they are missing; without them these tests fail, loudly.
Playwright's async API on the session's event loop: its sync API would keep an event loop
running in the main thread between tests, and every async test after it would fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio
from playwright.async_api import async_playwright

from scoring import Group
from services.access import Actor
from services.dashboard import issue_dashboard_link, login_url, user_by_telegram_id
from services.evidence import register_evidence
from services.findings import record_finding
from services.standings import compute_standings
from services.tasks import tasks_of_year
from storage.archive import EvidenceArchive
from storage.clock import FixedClock
from storage.database import Database, open_database
from storage.unit_of_work import UnitOfWork
from templates import render
from templates.formatting import num
from tests.fakes.bot_api import tiny_png
from tests.web.conftest import init_data, web_deps
from tests.web.district import COORDINATOR, ENGLISH_VIEWER, LIAISON, NOW, VIEWER, YEAR
from web.app import create_app
from web.auth import INIT_DATA_MAX_AGE
from web.server import DashboardServer

CHROMIUM = Path("/usr/bin/chromium")
PHOTO_ID = "photo-file-1"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}


@dataclass
class LiveDashboard:
    """The dashboard served on 127.0.0.1 from a thread, on the seeded district."""

    url: str
    database: Database
    clock: FixedClock

    def uow(self) -> UnitOfWork:
        """A unit of work on the served database."""
        return UnitOfWork(self.database, self.clock)


@pytest.fixture(scope="session")
def live(
    seeded_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveDashboard]:
    """The dashboard on a copy of the seeded district, with one finding's photo."""
    folder = tmp_path_factory.mktemp("live")
    shutil.copyfile(seeded_template, folder / "kaohe.db")
    database = open_database(f"sqlite:///{folder / 'kaohe.db'}")
    clock = FixedClock(NOW)
    operator = Actor.operator("test")
    photo = tiny_png(40, 30)
    evidence = register_evidence(
        UnitOfWork(database, clock), operator, "photo", PHOTO_ID, "unique-1", None,
        "image/png", len(photo), None, EvidenceArchive(folder / "archive"),
    )  # fmt: skip
    units = {
        t.unit_code: t.unit_id for t in tasks_of_year(UnitOfWork(database, clock), operator, YEAR)
    }
    record_finding(
        UnitOfWork(database, clock), operator, units["xiji"], "现场照片显示施工停滞",
        "on_site_inspection", NOW.date(), NOW.date(), [evidence.id],
    )  # fmt: skip
    server = DashboardServer("127.0.0.1", 0)
    url = server.bind()
    app = create_app(web_deps(database, clock, **{PHOTO_ID: photo}))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        await server.start(app)
        started.set()
        await stop.wait()
        await server.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(30), "the dashboard did not start"
    yield LiveDashboard(url, database, clock)
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    loop.close()
    database.dispose()


pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    """Headless chromium from Debian's package, one for the session."""
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run scripts/browser.sh (test.sh sources it)")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh page (its own cookies) at desk width."""
    context = await browser.new_context(viewport=DESK, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    await context.close()
    # A 401 or 403 the test asked for shows in the console as a failed load, nothing else.
    assert [e for e in errors if "status of 40" not in e] == []


def mini_app(live: LiveDashboard, telegram_id: int, path: str = "/", **kwargs: Any) -> str:
    """The address Telegram opens a Mini App at: init data and theme in the fragment."""
    theme = '{"bg_color":"#ffffff","text_color":"#222222","button_color":"#3390ec"}'
    data = init_data(telegram_id, **kwargs)
    fragment = f"tgWebAppData={quote(data)}&tgWebAppVersion=8.0&tgWebAppThemeParams={quote(theme)}"
    return f"{live.url}{path}#{fragment}"


async def ready(page: Any) -> None:
    """Wait until the page has drawn what it asked the API for."""
    await page.wait_for_selector("body[data-ready='1'][data-complete='1']", timeout=10_000)


async def test_signed_init_data_opens_the_standings_with_the_right_numbers(
    page: Any, live: LiveDashboard
) -> None:
    await page.goto(mini_app(live, COORDINATOR.telegram_id))
    await ready(page)
    standings = compute_standings(UnitOfWork(live.database, live.clock, read_only=True), YEAR)
    for group in Group:
        rows = page.locator(f"table.standings[data-group='{group.value}'] tbody tr")
        names = await rows.locator("td[data-key='name']").all_inner_texts()
        totals = await rows.locator("td[data-key='total']").all_inner_texts()
        shown = list(zip(names, totals, strict=True))
        assert shown == [(r.name, num(r.total)) for r in standings.group(group)]
    assert await page.locator("h1").inner_text() == render("web.title", "zh")
    bars = await page.locator("svg.chart rect").count()
    assert bars == sum(len(standings.group(g)) for g in Group)


@pytest.mark.parametrize("kind", ["forged signature", "stale auth_date", "unknown user"])
async def test_strangers_get_401_and_are_told_how_to_sign_in(
    page: Any, live: LiveDashboard, kind: str
) -> None:
    address = {
        "forged signature": mini_app(live, COORDINATOR.telegram_id, token="1:forged"),
        "stale auth_date": mini_app(
            live, COORDINATOR.telegram_id, age=INIT_DATA_MAX_AGE.total_seconds() + 1
        ),
        "unknown user": mini_app(live, 777_777),
    }[kind]
    async with page.expect_response(lambda r: r.url.endswith("/api/me")) as answer:
        await page.goto(address)
    assert (await answer.value).status == 401
    await ready(page)
    assert await page.locator("#unauthorized").inner_text() == render("web.unauthorized", "zh")
    assert await page.locator("table").count() == 0


async def test_english_for_an_english_app_and_unpublished_standings_said_to_a_liaison(
    page: Any, live: LiveDashboard
) -> None:
    await page.goto(mini_app(live, ENGLISH_VIEWER.telegram_id, language_code="en"))
    await ready(page)
    assert await page.locator("h1").inner_text() == render("web.title", "en")
    assert await page.evaluate("document.documentElement.lang") == "en"
    header = await page.locator("table.standings th[data-key='total']").first.inner_text()
    assert header.startswith(render("web.col_total", "en"))
    await page.goto("about:blank")  # else only the fragment changes: no new page
    await page.goto(mini_app(live, LIAISON.telegram_id))
    await ready(page)
    assert await page.locator("#not-found").inner_text() == render(
        "errors.standings_not_published", "zh", year=YEAR
    )


async def test_a_liaison_opening_another_unit_gets_403(page: Any, live: LiveDashboard) -> None:
    async with page.expect_response(lambda r: "/api/units/xiji" in r.url) as answer:
        await page.goto(mini_app(live, LIAISON.telegram_id, "/unit/xiji"))
    assert (await answer.value).status == 403
    await ready(page)
    assert await page.locator("#forbidden").inner_text() == render("errors.not_your_unit", "zh")


async def test_the_one_time_link_works_once(browser: Any, live: LiveDashboard) -> None:
    user = user_by_telegram_id(live.uow(), VIEWER.telegram_id)
    assert user is not None
    link = login_url(live.url, issue_dashboard_link(live.uow(), user.actor).token)
    first = await browser.new_context(viewport=DESK)
    page = await first.new_page()
    await page.goto(link)
    await page.click("#sign-in")
    await ready(page)
    assert page.url == live.url + "/"
    assert await page.locator("table.standings").count() == 2
    cookie = next(c for c in await first.cookies() if c["name"] == "kaohe_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    await first.close()
    second = await browser.new_context(viewport=DESK)
    again = await second.new_page()
    await again.goto(link)
    async with again.expect_response(lambda r: r.url.endswith("/login")) as answer:
        await again.click("#sign-in")
    assert (await answer.value).status == 401
    failed = await again.locator("#login-failed").inner_text()
    assert failed == render("web.login_failed", "zh")
    await second.close()


async def _fonts(page: Any, selector: str) -> list[dict[str, Any]]:
    """The fonts chromium rendered a node's text with (DevTools: CSS.getPlatformFontsForNode)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("DOM.enable")
    await cdp.send("CSS.enable")
    root = await cdp.send("DOM.getDocument", {"depth": -1})
    node = await cdp.send(
        "DOM.querySelector", {"nodeId": root["root"]["nodeId"], "selector": selector}
    )
    used = await cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    await cdp.detach()
    fonts: list[dict[str, Any]] = used["fonts"]
    return fonts


@pytest.mark.parametrize("size", [PHONE, DESK], ids=["phone-390x844", "desk-1280x800"])
async def test_phone_and_desk_widths_fit_and_every_chinese_glyph_is_drawn(
    browser: Any, live: LiveDashboard, size: dict[str, int], tmp_path: Path
) -> None:
    # SCREENSHOTS_DIR keeps the screenshots somewhere to look at; else a temporary folder.
    shots = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    context = await browser.new_context(viewport=size, locale="zh-CN")
    page = await context.new_page()
    for path in ("/", "/unit/dianzi", "/matrix", "/findings"):
        await page.goto(mini_app(live, COORDINATOR.telegram_id, path))
        await ready(page)
        name = path.strip("/").replace("/", "-") or "standings"
        await page.screenshot(path=str(shots / f"{name}-{size['width']}.png"), full_page=True)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
    await page.goto(mini_app(live, COORDINATOR.telegram_id))
    await ready(page)
    for selector in ("h1", "table.standings td[data-key='name']", "table.standings th"):
        text = await page.locator(selector).first.inner_text()
        fonts = await _fonts(page, selector)
        # Every character was drawn by a font that has it: no fallback box (.notdef).
        assert sum(f["glyphCount"] for f in fonts) >= len(text.replace(" ", "")), (selector, fonts)
        assert any("CJK" in f["familyName"] for f in fonts), (selector, fonts)
    # The findings' photo came through the bot, drawn as a thumbnail.
    await page.goto(mini_app(live, COORDINATOR.telegram_id, "/findings"))
    await ready(page)
    thumbnail = page.locator("img[data-evidence]").first
    await thumbnail.wait_for()
    # (wait_for_function evaluates a string, which the page's CSP rightly forbids: poll.)
    for _ in range(100):
        if await thumbnail.evaluate("img => img.complete && img.naturalWidth > 0"):
            break
        await page.wait_for_timeout(50)
    assert await thumbnail.evaluate("img => img.naturalWidth") == 40
    await context.close()


async def test_sorting_and_a_click_from_the_standings_to_a_unit(
    page: Any, live: LiveDashboard
) -> None:
    await page.goto(mini_app(live, COORDINATOR.telegram_id))
    await ready(page)
    table = page.locator("table.standings[data-group='town']")
    header = table.locator("th[data-key='total']")

    async def totals() -> list[float]:
        return [float(t) for t in await table.locator("td[data-key='total']").all_inner_texts()]

    by_rank = await totals()
    assert by_rank == sorted(by_rank, reverse=True)
    await header.click()
    assert await totals() == sorted(by_rank, reverse=True)
    await header.click()
    assert await totals() == sorted(by_rank)
    assert await header.get_attribute("aria-sort") == "ascending"
    lowest = table.locator("tbody tr").first
    name = await lowest.locator("td[data-key='name']").inner_text()
    code = await lowest.get_attribute("data-unit")
    await lowest.click()
    await page.wait_for_url(f"**/unit/{code}?year={YEAR}")
    await ready(page)
    assert await page.locator("#unit-name").inner_text() == name
    assert await page.locator("table.indicators tbody tr").count() > 0
    await page.go_back()
    await page.wait_for_selector("table.standings")
    # A cell of the matrix opens that month's report.
    await page.goto(mini_app(live, COORDINATOR.telegram_id, "/matrix"))
    await ready(page)
    await page.locator("td.cell[data-unit='dianzi'][data-month='5']").click()
    version = page.locator("#cell-detail .version")
    await version.wait_for()
    text = await version.inner_text()
    assert text.startswith(render("web.report_version", "zh").split("{")[0])
    assert "40%" in await page.locator("#cell-detail li").first.inner_text()
