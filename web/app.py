"""The dashboard as an ASGI app: static pages, a JSON API under /api/, and the desk sign-in.

Every API call names its person: Telegram Mini App init data (`Authorization: tma <init
data>`), or the session cookie a one-time link from /dashboard started. Strangers get 401, a
role the services refuse 403; the answers come from services.dashboard (the bot's services),
called off the event loop, which the bot shares.
"""

from __future__ import annotations

import asyncio
import gzip
import html
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qs, quote

import filetype
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scoring.calendar import local_date
from services import dashboard
from services.dashboard import SESSION_LIFETIME, DashboardUser
from services.errors import Invalid, NotFound, Refused, ServiceError
from services.settings import Settings
from storage.clock import Clock, as_utc
from storage.unit_of_work import UnitOfWork
from templates import has_message, normalise_language, render
from templates.catalog import catalog
from web.auth import (
    TelegramUser,
    Unauthorized,
    session_cookie,
    session_key,
    session_person,
    validate_init_data,
)

log = logging.getLogger("kaohe.web")

STATIC = Path(__file__).parent / "static"
COOKIE = "kaohe_session"
# No inline script anywhere: every script is a file of this package.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'self' https://web.telegram.org"
)
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class WebDeps:
    """What the dashboard needs: settings, units of work, a clock, the secrets it checks
    sign-ins with, and a way to fetch a Telegram file through the bot (None: no bot)."""

    settings: Settings
    uow: Callable[[], UnitOfWork]
    read_uow: Callable[[], UnitOfWork]
    clock: Clock
    bot_token: str
    fetch_file: Callable[[str], Awaitable[bytes]] | None = None

    @property
    def secure_cookies(self) -> bool:
        """Whether the dashboard is reached over https (then cookies are Secure)."""
        return self.settings.resolved_web_url.startswith("https://")


def json_bytes(data: Any) -> bytes:
    """JSON as Starlette's JSONResponse writes it."""
    return json.dumps(
        data, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


@dataclass(frozen=True)
class Encoded:
    """An answer's JSON, plain and gzipped, and the object it was made from."""

    source: Any
    body: bytes
    gzipped: bytes

    def response(self, request: Request) -> Response:
        """The JSON, gzipped when the client takes it."""
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(
                self.gzipped,
                media_type="application/json",
                headers={"content-encoding": "gzip", "vary": "Accept-Encoding"},
            )
        return Response(self.body, media_type="application/json")


class SecurityHeaders:
    """Security headers on every answer; no caching of API answers or sign-in pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers as the answer starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        private = path.startswith("/api/") or path.startswith("/login")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if private:
                    extra.append((b"cache-control", b"no-store"))
                    extra.append((b"pragma", b"no-cache"))
                headers.extend((k, v) for k, v in extra if k not in names)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


class Dashboard:
    """The request handlers, bound to their dependencies."""

    def __init__(self, deps: WebDeps) -> None:
        self.deps = deps
        secret = deps.bot_token or "kaohe-dashboard"
        self.cookie_key = session_key(secret)
        self._encoded: dict[bool, Encoded] = {}
        self._encoded_lock = threading.Lock()

    # --- helpers --------------------------------------------------------------------------

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking service call off the event loop the bot shares."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def now_year(self) -> int:
        """The year of today in the bot's time zone."""
        return local_date(as_utc(self.deps.clock.now()), self.deps.settings.timezone).year

    async def who(self, request: Request) -> tuple[DashboardUser, str]:
        """The person asking and their language; Unauthorized if nobody valid."""
        header = request.headers.get("authorization", "")
        now = as_utc(self.deps.clock.now())
        telegram: TelegramUser | None = None
        if header[:4].lower() == "tma ":
            if not self.deps.bot_token:
                raise Unauthorized("no bot token")
            telegram = validate_init_data(header[4:].strip(), self.deps.bot_token, now)
            user = await self.call(
                dashboard.user_by_telegram_id, self.deps.read_uow(), telegram.id
            )
        elif header:
            raise Unauthorized("unknown scheme")
        else:
            cookie = request.cookies.get(COOKIE)
            if not cookie:
                raise Unauthorized("no credentials")
            person_id = session_person(cookie, self.cookie_key, now)
            user = await self.call(dashboard.user_by_person_id, self.deps.read_uow(), person_id)
        if user is None:
            raise Unauthorized("not registered or inactive")
        # The person's own choice (/language), else their Telegram app's, else the bot's.
        language = normalise_language(
            user.language
            or (telegram.language_code if telegram is not None else None)
            or self.deps.settings.language
        )
        return user, language

    def year(self, request: Request) -> int:
        """The `year` of the query (this year when left out); Invalid if it is no year."""
        text = request.query_params.get("year", "").strip()
        if not text:
            return self.now_year()
        if len(text) != 4 or not text.isdigit():
            raise Invalid("web_bad_year", value=text[:20])
        return int(text)

    def day(self, request: Request) -> date | None:
        """The `as_of` day of the query, if any; Invalid if it is no date."""
        text = request.query_params.get("as_of", "").strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise Invalid("web_bad_date", value=text[:20]) from exc

    async def api(
        self,
        request: Request,
        answer: Callable[[DashboardUser, str], Awaitable[Response]],
    ) -> Response:
        """Authenticate, answer, and turn refusals into 401/403/404/400."""
        language = normalise_language(self.deps.settings.language)
        try:
            user, language = await self.who(request)
            return await answer(user, language)
        except Unauthorized as exc:
            log.info("dashboard: 401 (%s) %s", exc, request.url.path)
            return self.error(401, "web_unauthorized", {}, language)
        except Refused as exc:
            return self.error(403, exc.code, exc.params, language)
        except NotFound as exc:
            return self.error(404, exc.code, exc.params, language)
        except ServiceError as exc:
            return self.error(400, exc.code, exc.params, language)

    def error(self, status: int, code: str, params: Any, language: str) -> JSONResponse:
        """A refusal as JSON: its code and its message in the person's language."""
        key = f"errors.{code}"
        try:
            message = render(key, language, **params) if has_message(key, language) else code
        except Exception:  # a message missing a parameter must not hide the refusal
            message = code
        return JSONResponse({"error": code, "message": message}, status_code=status)

    # --- pages ----------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        """The one page of the dashboard; it draws standings, a unit, the matrix or findings."""
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    async def login_form(self, request: Request) -> Response:
        """The page of a one-time link: a button that signs in (a link preview that fetches
        the address uses nothing up)."""
        token = request.query_params.get("token", "")
        language = normalise_language(
            request.query_params.get("lang") or self.deps.settings.language
        )
        body = (
            f'<form method="post" action="/login">'
            f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'
            f"<p>{html.escape(render('web.login_intro', language))}</p>"
            f'<button type="submit" id="sign-in">'
            f"{html.escape(render('web.login_button', language))}</button></form>"
        )
        return HTMLResponse(self.shell(render("web.title", language), body, language))

    async def login(self, request: Request) -> Response:
        """Use a one-time link: start a session cookie and go to the standings."""
        # A urlencoded form of one field: read here, without a multipart parser.
        body = (await request.body())[:4096].decode("utf-8", errors="replace")
        token = (parse_qs(body).get("token") or [""])[0][:200]
        language = normalise_language(self.deps.settings.language)
        try:
            user = await self.call(dashboard.use_dashboard_link, self.deps.uow(), token)
        except Refused:
            body = f'<p id="login-failed">{html.escape(render("web.login_failed", language))}</p>'
            return HTMLResponse(
                self.shell(render("web.title", language), body, language), status_code=401
            )
        assert user.actor.person_id is not None
        expires = as_utc(self.deps.clock.now()) + SESSION_LIFETIME
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            session_cookie(user.actor.person_id, expires, self.cookie_key),
            max_age=int(SESSION_LIFETIME.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=self.deps.secure_cookies,
            path="/",
        )
        return response

    async def logout(self, request: Request) -> Response:
        """End the desk session."""
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @staticmethod
    def shell(title: str, body: str, language: str) -> str:
        """A small server-made page (sign-in) with the dashboard's style sheet."""
        lang = "zh-CN" if language == "zh" else language
        return (
            f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(title)}</title><link rel="stylesheet" href="/static/app.css">'
            f'</head><body><main class="login"><h1>{html.escape(title)}</h1>{body}</main>'
            "</body></html>"
        )

    # --- the API --------------------------------------------------------------------------

    async def me(self, request: Request) -> Response:
        """Who is signed in, their language, today's year and the page's texts."""

        async def answer(user: DashboardUser, language: str) -> Response:
            return JSONResponse(
                {"user": user.to_json(), "language": language, "year": self.now_year()}
                | {"texts": texts(language)}
            )

        return await self.api(request, answer)

    async def texts(self, request: Request) -> Response:
        """The page's texts (public: what a stranger's page says too)."""
        language = normalise_language(
            request.query_params.get("lang") or self.deps.settings.language
        )
        return JSONResponse({"language": language, "texts": texts(language)})

    async def standings(self, request: Request) -> Response:
        """The standings of a year, as `kaohe standings --json` with labels; `view=table`
        leaves out each unit's per-indicator and per-item details (the standings page)."""
        table = request.query_params.get("view") == "table"

        async def answer(user: DashboardUser, language: str) -> Response:
            data = await self.call(
                dashboard.standings_json,
                self.deps.read_uow(),
                user.actor,
                self.year(request),
                self.day(request),
            )
            encoded = await self.call(self.encoded, data, table)
            return encoded.response(request)

        return await self.api(request, answer)

    def encoded(self, data: dict[str, Any], table: bool) -> Encoded:
        """The standings as JSON bytes (and gzipped), made once for the same answer: the
        services hand out the same object while nothing changed."""
        with self._encoded_lock:
            cached = self._encoded.get(table)
        if cached is not None and cached.source is data:
            return cached
        body = json_bytes(dashboard.standings_table(data) if table else data)
        made = Encoded(data, body, gzip.compress(body, compresslevel=5, mtime=0))
        with self._encoded_lock:
            self._encoded[table] = made
        return made

    async def unit(self, request: Request) -> Response:
        """One unit's explanation and findings."""
        code = request.path_params["code"]

        async def answer(user: DashboardUser, language: str) -> Response:
            data = await self.call(
                dashboard.unit_json, self.deps.read_uow(), user.actor, self.year(request), code
            )
            return JSONResponse(data)

        return await self.api(request, answer)

    async def matrix(self, request: Request) -> Response:
        """Units × months of report states."""

        async def answer(user: DashboardUser, language: str) -> Response:
            data = await self.call(
                dashboard.matrix_json, self.deps.read_uow(), user.actor, self.year(request)
            )
            return JSONResponse(data)

        return await self.api(request, answer)

    async def month_report(self, request: Request) -> Response:
        """A unit's progress report of a month, every version (a cell of the matrix)."""
        code = request.path_params["code"]

        async def answer(user: DashboardUser, language: str) -> Response:
            month = request.path_params["month"]
            if not 1 <= month <= 12:
                raise Invalid("web_bad_month", value=month)
            data = await self.call(
                dashboard.month_report_json,
                self.deps.read_uow(),
                user.actor,
                self.year(request),
                code,
                month,
            )
            return JSONResponse(data)

        return await self.api(request, answer)

    async def findings(self, request: Request) -> Response:
        """The findings of a year and the rectifications awaiting review."""

        async def answer(user: DashboardUser, language: str) -> Response:
            data = await self.call(
                dashboard.findings_json, self.deps.read_uow(), user.actor, self.year(request)
            )
            return JSONResponse(data)

        return await self.api(request, answer)

    async def supervision_plan(self, request: Request) -> Response:
        """The year's supervision activities, planned and done, with their findings."""

        async def answer(user: DashboardUser, language: str) -> Response:
            data = await self.call(
                dashboard.supervision_plan_json,
                self.deps.read_uow(),
                user.actor,
                self.year(request),
            )
            return JSONResponse(data)

        return await self.api(request, answer)

    async def evidence(self, request: Request) -> Response:
        """An evidence file, fetched through the bot (the token stays on the server)."""
        try:
            evidence_id = int(request.path_params["evidence_id"])
        except ValueError:
            evidence_id = -1

        async def answer(user: DashboardUser, language: str) -> Response:
            found = await self.call(
                dashboard.evidence_file, self.deps.read_uow(), user.actor, evidence_id
            )
            if self.deps.fetch_file is None or not found.telegram_file_id:
                raise NotFound("evidence_not_found", evidence_id=evidence_id)
            content = await self.deps.fetch_file(found.telegram_file_id)
            kind = filetype.guess(content)
            if kind is not None and kind.mime.startswith("image/"):
                return Response(content, media_type=kind.mime)
            name = found.file_name or f"evidence-{found.id}"
            return Response(
                content,
                media_type="application/octet-stream",
                headers={"content-disposition": f"attachment; filename*=UTF-8''{_quote(name)}"},
            )

        return await self.api(request, answer)

    async def report(self, request: Request) -> Response:
        """The report workbook of a year (as /export sends it)."""

        async def answer(user: DashboardUser, language: str) -> Response:
            year = self.year(request)
            content = await self.call(
                dashboard.report_workbook, self.deps.read_uow(), user.actor, year, language
            )
            name = f"kaohe-report-{year}.xlsx"
            return Response(
                content,
                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                headers={"content-disposition": f'attachment; filename="{name}"'},
            )

        return await self.api(request, answer)


def _quote(name: str) -> str:
    return quote(name, safe="")


# Messages of the catalogs the page needs besides its own (`web.*`): names of groups, flags,
# events, periods and grades, as the bot says them.
_SHARED_TEXTS = ("year.group_", "year.flag_", "year.event_", "year.period_", "coord.unit_grade_")
# `web.*` messages said by the server (sign-in page, bot, console), not by the page.
_SERVER_TEXTS = ("web.bot_", "web.console_", "web.login_")


def texts(language: str) -> dict[str, str]:
    """The page's texts in `language`: `web.*` keyed without the prefix, the shared ones by
    their full key."""
    out: dict[str, str] = {}
    for key in catalog(language):
        if key.startswith("web.") and not key.startswith(_SERVER_TEXTS):
            out[key.removeprefix("web.")] = render(key, language)
        elif key.startswith(_SHARED_TEXTS) and not key.endswith("_help"):
            # Names only: a command-line help of the same prefix takes parameters the page has not.
            out[key] = render(key, language)
    return out


def create_app(deps: WebDeps) -> ASGIApp:
    """The dashboard's ASGI app."""
    d = Dashboard(deps)
    routes = [
        Route("/", d.page),
        Route("/unit/{code}", d.page),
        Route("/matrix", d.page),
        Route("/findings", d.page),
        Route("/login", d.login_form, methods=["GET"]),
        Route("/login", d.login, methods=["POST"]),
        Route("/logout", d.logout, methods=["POST"]),
        Route("/api/me", d.me),
        Route("/api/texts", d.texts),
        Route("/api/standings", d.standings),
        Route("/api/units/{code}", d.unit),
        Route("/api/matrix", d.matrix),
        Route("/api/reports/{code}/{month:int}", d.month_report),
        Route("/api/findings", d.findings),
        Route("/api/supervision_plan", d.supervision_plan),
        Route("/api/evidence/{evidence_id}", d.evidence),
        Route("/api/report.xlsx", d.report),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return SecurityHeaders(Starlette(routes=routes))
