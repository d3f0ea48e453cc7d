"""Dashboard benchmark: the standings at 2,000 units, through the API and in a real browser.

    python -m bench.bench_web [--units 2000] [--runs 7]

Builds the storage benchmark's district (bench.bench_storage.build: 2,000 towns, 60 indicators,
two values imports, grades, bonus, a year of reports, findings) on SQLite, registers a
coordinator, and serves the dashboard on 127.0.0.1 with uvicorn. Then times:

- `GET /api/standings` (signed with Mini App init data, as Telegram's client sends it) and
  `GET /` (the page), over HTTP, best and median of `--runs`; goal: under 300 ms each;
- in headless chromium (Debian's, driven by Playwright) at desk width: from navigation to the
  page being usable (every group's table drawn, body[data-ready]); goal: under 1 s.

The standings are computed once while nothing changes (services.dashboard): the first answer
after a change computes them (shown for information), the following ones are served as made.
Prints each goal with its ratio (median / goal) and PASS or MISSED; exits 0 whatever they are.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import http.client
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from bench.bench_storage import OPERATOR, YEAR, Figures, build
from services.access import Role
from services.people import register_person
from services.settings import Settings
from storage.clock import FixedClock
from storage.database import Database, open_database
from storage.migrate import upgrade
from storage.unit_of_work import UnitOfWork
from web.app import WebDeps, create_app
from web.auth import sign_init_data
from web.server import DashboardServer

TOKEN = "123456:bench-web-token"
COORDINATOR = 900_001
GOAL_API = 0.300
GOAL_PAGE = 0.300
GOAL_USABLE = 1.0
CHROMIUM = Path("/usr/bin/chromium")
NOW = datetime(2025, 12, 20, 2, 0, tzinfo=UTC)


def init_data(telegram_id: int) -> str:
    """Fresh init data for a user, as Telegram signs it."""
    user = json.dumps({"id": telegram_id, "first_name": "bench"})
    return sign_init_data({"user": user, "auth_date": str(int(NOW.timestamp()))}, TOKEN)


def serve(database: Database, clock: FixedClock) -> tuple[str, Callable[[], None]]:
    """The dashboard on 127.0.0.1 in a thread of its own; its URL and how to stop it."""
    deps = WebDeps(
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        uow=lambda: UnitOfWork(database, clock),
        read_uow=lambda: UnitOfWork(database, clock, read_only=True),
        clock=clock,
        bot_token=TOKEN,
    )
    server = DashboardServer("127.0.0.1", 0)
    url = server.bind()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    async def run() -> None:
        await server.start(create_app(deps))
        started.set()
        await stop.wait()
        await server.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    started.wait(30)

    def stopping() -> None:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)

    return url, stopping


def get(url: str, path: str, headers: dict[str, str]) -> bytes:
    """One GET on a new connection, as a browser asks (gzip accepted); the body, unzipped.

    (http.client and a connection each time: httpx's kept-alive connection waits for the
    peer's delayed ACK, 40 ms a request on Linux, which measures the client, not the server.)
    """
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip", **headers})
        answer = connection.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"GET {path}: {answer.status}")
        if answer.getheader("content-encoding") == "gzip":
            body = gzip.decompress(body)
        return body
    finally:
        connection.close()


def timed_gets(url: str, path: str, headers: dict[str, str], runs: int) -> list[float]:
    """Seconds of each of `runs` GETs of `path` (after one warm-up), each checked for 200."""
    get(url, path, headers)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        get(url, path, headers)
        times.append(time.perf_counter() - start)
    return times


def browser_usable(url: str, runs: int) -> tuple[list[float], list[float]]:
    """Seconds from navigation to the standings page being usable (the first rows drawn,
    sorting and clicks answered), and to every row being drawn, in chromium."""
    from playwright.sync_api import sync_playwright

    address = f"{url}/#tgWebAppData={quote(init_data(COORDINATOR))}&tgWebAppVersion=8.0"
    times: list[float] = []
    complete: list[float] = []
    waited: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(address)  # warm-up: the browser's own start, caches
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        for _ in range(runs):
            page.goto("about:blank")
            start = time.perf_counter()
            page.goto(address, wait_until="commit")
            page.wait_for_selector("body[data-ready='1'] table.standings", timeout=30_000)
            driver = time.perf_counter() - start
            # The page's own clock, from the navigation's start: what a person waits.
            times.append(int(page.evaluate("document.body.dataset.readyAt")) / 1000)
            page.wait_for_selector("body[data-complete='1']", timeout=30_000)
            complete.append(page.evaluate("performance.now()") / 1000)
            waited.append(driver)
        rows = page.locator("table.standings tbody tr").count()
        browser.close()
    print(
        f"  browser: {rows:,} standings rows drawn; the driver waited "
        f"{statistics.median(waited) * 1000:.0f} ms (median) for a usable page"
    )
    return times, complete


def line(label: str, times: list[float], goal: float) -> None:
    """One goal: median and best, the ratio of the median to the goal, PASS or MISSED."""
    median = statistics.median(times)
    ratio = median / goal
    verdict = "PASS" if median < goal else "MISSED"
    print(
        f"  {label:<44}{median * 1000:>9.0f}{min(times) * 1000:>9.0f}"
        f"{goal * 1000:>9.0f}{ratio:>8.2f}  {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    """Build the district, serve it, measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kaohe-bench-web-") as folder:
        database = open_database(f"sqlite:///{Path(folder) / 'kaohe.db'}")
        upgrade(database)
        figures = Figures("sqlite")
        start = time.perf_counter()
        build(database, args.units, figures)
        register_person(
            UnitOfWork(database, FixedClock(NOW)),
            OPERATOR,
            COORDINATOR,
            "协调员",
            Role.COORDINATOR,
        )
        print(f"district of {args.units:,} units built in {time.perf_counter() - start:.1f} s")
        clock = FixedClock(NOW)
        url, stop = serve(database, clock)
        try:
            headers = {"Authorization": "tma " + init_data(COORDINATOR)}
            cold = []
            for k in range(2):  # a change (audited) makes the next answer computed anew
                uow = UnitOfWork(database, clock)
                register_person(uow, OPERATOR, COORDINATOR + 1 + k, "查看人", Role.VIEWER)
                start = time.perf_counter()
                get(url, f"/api/standings?year={YEAR}", headers)
                cold.append(time.perf_counter() - start)
            api = timed_gets(url, f"/api/standings?year={YEAR}", headers, args.runs)
            table = timed_gets(url, f"/api/standings?year={YEAR}&view=table", headers, args.runs)
            size = len(get(url, f"/api/standings?year={YEAR}", headers))
            page = timed_gets(url, "/", {}, args.runs)
            script = timed_gets(url, "/static/app.js", {}, args.runs)
            usable, complete = browser_usable(url, args.runs) if CHROMIUM.exists() else ([], [])
        finally:
            stop()
            database.dispose()
    print(f"  standings JSON: {size / 1024:,.0f} KiB")
    print()
    print(f"  {'goal':<44}{'median':>9}{'best':>9}{'goal':>9}{'ratio':>8}  (ms)")
    line(f"GET /api/standings, {args.units:,} units", api, GOAL_API)
    line("GET /api/standings?view=table (the page's)", table, GOAL_API)
    line("  (information: first answer after a change)", cold, GOAL_API)
    line("GET / (the page)", page, GOAL_PAGE)
    line("GET /static/app.js", script, GOAL_PAGE)
    if usable:
        line("browser: navigation to a usable page", usable, GOAL_USABLE)
        line("  (information: to every row drawn)", complete, GOAL_USABLE)
    else:
        print("  browser: MISSED (no /usr/bin/chromium: run scripts/browser.sh)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
