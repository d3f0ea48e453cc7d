"""`kaohe run`: the real bot process against the fake Bot API server, and its refusals."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from bot.fake_bot_api import FakeBotApi
from cli import run
from services import wiring
from tests.e2e.cli import clear_caches, runner

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "424242:SECRET-token-that-must-not-be-logged"
STRANGER = 5551
START_TIMEOUT = 60.0  # a cold interpreter imports PTB, SQLAlchemy and Alembic first


def _cli() -> typer.Typer:
    """A `kaohe` command holding just `run` and `console`."""
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Commands under test."""

    run.register(app)
    return app


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working folder without a .env file, settings pointing at a database in it."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("KAOHE_") or name == "TELEGRAM_BOT_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.setenv("KAOHE_DATA_DIR", str(tmp_path / "data"))
    # Routine lines would replace pytest's log handlers for the rest of the run.
    monkeypatch.setattr(run, "configure_logging", lambda token, level=0: None)
    clear_caches()
    yield tmp_path
    clear_caches()


def test_without_a_token_it_says_how_to_get_one_and_exits_2(folder: Path) -> None:
    result = runner.invoke(_cli(), ["run"])
    assert result.exit_code == 2
    assert "@BotFather" in result.output
    assert "kaohe console" in result.output


def test_a_webhook_without_a_secret_is_refused(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("KAOHE_WEBHOOK_URL", "https://bot.example.org/kaohe/hook")
    result = runner.invoke(_cli(), ["run"])
    assert result.exit_code == 2
    assert "KAOHE_WEBHOOK_SECRET" in result.output
    assert not (folder / "data" / "kaohe.db").exists()


def test_a_webhook_secret_telegram_would_reject_is_refused(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("KAOHE_WEBHOOK_URL", "https://bot.example.org/kaohe/hook")
    monkeypatch.setenv("KAOHE_WEBHOOK_SECRET", "has spaces and ?")
    result = runner.invoke(_cli(), ["run"])
    assert result.exit_code == 2
    assert "KAOHE_WEBHOOK_SECRET" in result.output


def test_a_webhook_runs_with_its_secret_token_on_the_upgraded_database(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telegram.ext import Application

    calls: list[dict[str, Any]] = []
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("KAOHE_WEBHOOK_URL", "https://bot.example.org/kaohe/hook")
    monkeypatch.setenv("KAOHE_WEBHOOK_SECRET", "s3cret_token-1")
    monkeypatch.setenv("KAOHE_WEBHOOK_PORT", "8555")
    monkeypatch.setattr(run, "webhooks_available", lambda: True)
    monkeypatch.setattr(Application, "run_webhook", lambda self, **kw: calls.append(kw))
    result = runner.invoke(_cli(), ["run"])
    assert result.exit_code == 0, result.output
    [call] = calls
    assert call["secret_token"] == "s3cret_token-1"
    assert call["webhook_url"] == "https://bot.example.org/kaohe/hook"
    assert call["url_path"] == "kaohe/hook"
    assert call["port"] == 8555
    assert call["drop_pending_updates"] is False
    assert "callback_query" in call["allowed_updates"]
    from storage.migrate import current_revision, head_revision

    assert current_revision(wiring.database()) == head_revision(wiring.database())


def test_polling_asks_for_every_kind_of_update_and_keeps_pending_ones(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telegram.ext import Application

    calls: list[dict[str, Any]] = []
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr(Application, "run_polling", lambda self, **kw: calls.append(kw))
    result = runner.invoke(_cli(), ["run"])
    assert result.exit_code == 0, result.output
    [call] = calls
    assert call["drop_pending_updates"] is False
    assert {"message", "edited_message", "callback_query"} <= set(call["allowed_updates"])


# -- the real process -----------------------------------------------------------------------


@dataclass
class BotProcess:
    """`kaohe run` in a child process, talking to `server`."""

    server: FakeBotApi
    process: asyncio.subprocess.Process

    async def stop(self, sig: signal.Signals) -> tuple[int, str]:
        """Send `sig`; the exit status and everything the process logged."""
        self.process.send_signal(sig)
        _, stderr = await asyncio.wait_for(self.process.communicate(), 30)
        assert self.process.returncode is not None
        return self.process.returncode, stderr.decode(errors="replace")


@asynccontextmanager
async def bot_process(tmp_path: Path, *args: str) -> AsyncIterator[BotProcess]:
    """A fake Bot API server and `kaohe run` polling it, until the block ends."""
    async with FakeBotApi(token=TOKEN) as server:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("KAOHE_") and key != "TELEGRAM_BOT_TOKEN"
        }
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            KAOHE_BOT_API_URL=server.base_url,
            KAOHE_BOT_FILE_URL=server.base_file_url,
            KAOHE_DATABASE_URL=f"sqlite:///{tmp_path / 'kaohe.db'}",
            KAOHE_DATA_DIR=str(tmp_path / "data"),
            KAOHE_WEB_PORT="0",  # the dashboard on any free port: tests run side by side
            PYTHONPATH=str(ROOT),
            PTB_TIMEDELTA="1",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli.app", "run", *args,
            cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            yield BotProcess(server, process)
        finally:
            if process.returncode is None:
                process.kill()
                await process.communicate()


async def _wait_until_polling(bot: BotProcess) -> None:
    async def started() -> None:
        await bot.server.wait_for(
            lambda: bot.server.calls("getUpdates") or bot.process.returncode is not None,
            START_TIMEOUT,
        )

    await started()
    if bot.process.returncode is not None:
        _, stderr = await bot.process.communicate()
        pytest.fail(f"kaohe run exited with {bot.process.returncode}: {stderr.decode()}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_the_bot_answers_a_stranger_politely_and_stops_cleanly_on_a_signal(
    tmp_path: Path, sig: signal.Signals
) -> None:
    async with bot_process(tmp_path) as bot:
        await _wait_until_polling(bot)
        stranger = bot.server.user(STRANGER, "路人")
        stranger.send_command("/start")
        [answer] = await bot.server.wait_for(lambda: bot.server.messages_to(STRANGER), 20)
        assert "邀请链接" in (answer.text or "")
        status, log = await bot.stop(sig)
    assert status == 0, log
    assert "kaohe bot stopped" in log
    assert bot.server.internal_errors == []


async def test_the_token_never_appears_in_the_log_even_when_requests_fail(
    tmp_path: Path,
) -> None:
    async with bot_process(tmp_path, "--verbose") as bot:
        await _wait_until_polling(bot)
        # Failures make PTB log exceptions, tracebacks and the requests it retries.
        bot.server.fail_next("getUpdates", 502, count=2)
        bot.server.fail_next("sendMessage", 500)
        stranger = bot.server.user(STRANGER)
        stranger.send_text("你好")
        await bot.server.wait_for(lambda: bot.server.status_counts[502] >= 2, 20)
        await bot.server.wait_for(lambda: bot.server.status_counts[500] >= 1, 20)
        status, log = await bot.stop(signal.SIGINT)
    assert status == 0, log
    # PTB logs the Bot API URL, which holds the token, at debug level: it shows redacted.
    assert "Set Bot API URL" in log and "/bot***" in log
    assert "NetworkError" in log  # the failures' tracebacks
    assert TOKEN not in log
    assert TOKEN.split(":", 1)[1] not in log


async def test_the_dashboard_is_served_by_the_bots_process_and_stops_with_it(
    tmp_path: Path,
) -> None:
    import re

    import httpx

    async with bot_process(tmp_path) as bot:
        assert bot.process.stderr is not None
        seen = ""
        while (match := re.search(r"dashboard: (http://[\d.:]+)", seen)) is None:
            line = await asyncio.wait_for(bot.process.stderr.readline(), START_TIMEOUT)
            assert line, seen
            seen += line.decode(errors="replace")
        await _wait_until_polling(bot)
        async with httpx.AsyncClient(base_url=match.group(1)) as web:
            assert (await web.get("/")).status_code == 200
            assert (await web.get("/api/me")).status_code == 401  # a stranger
        status, log = await bot.stop(signal.SIGTERM)
    assert status == 0, seen + log
    assert "kaohe bot stopped" in log
