"""`kaohe units import`, `kaohe invite` and `kaohe people` end to end on an SQLite file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from cli.common import t
from cli.people import parse_duration
from services import wiring
from services.access import Actor, Role
from services.people import list_people, redeem_invite
from services.settings import get_settings
from tests.e2e.cli import kaohe_cli, migrated_sqlite, pointed_at
from tests.fixtures_workbooks import write_workbook

HEADER = ["code", "name", "group"]


@pytest.fixture
def kaohe(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A migrated SQLite database that the `kaohe` command uses; yields the working folder."""
    monkeypatch.delenv("KAOHE_BOT_USERNAME", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pointed_at(monkeypatch, migrated_sqlite(sqlite_template, tmp_path), tmp_path):
        yield tmp_path


def _flat(text: str) -> str:
    """Output without line breaks and repeated spaces (the terminal may wrap long lines)."""
    return " ".join(text.split())


def _units_file(folder: Path, rows: list[list[str]], name: str = "units.xlsx") -> Path:
    return write_workbook(folder / name, {"units": [HEADER, *rows]})


def test_units_import_adds_then_updates_and_keeps_units_not_in_the_file(kaohe: Path) -> None:
    first = _units_file(kaohe, [["a01", "甲镇", "town"], ["d01", "乙局", "department"]])
    result = kaohe_cli("units", "import", str(first))
    assert result.exit_code == 0, result.output
    assert t("people.units_imported", added=2, updated=0, unchanged=0) in result.output

    second = _units_file(kaohe, [["a01", "甲街道", "town"]], "units2.xlsx")
    result = kaohe_cli("units", "import", str(second))
    assert result.exit_code == 0, result.output
    assert t("people.units_imported", added=0, updated=1, unchanged=0) in result.output
    assert "甲镇" in result.output and "甲街道" in result.output

    again = kaohe_cli("units", "import", str(first))
    assert t("people.units_imported", added=0, updated=1, unchanged=1) in again.output


def test_a_bad_units_workbook_imports_nothing_and_exits_2(kaohe: Path) -> None:
    bad = _units_file(kaohe, [["a01", "甲镇", "town"], ["a01", "乙镇", "town"]])
    result = kaohe_cli("units", "import", str(bad))
    assert result.exit_code == 2
    assert "a01" in result.output
    good = _units_file(kaohe, [["a02", "丙镇", "town"]], "good.xlsx")
    result = kaohe_cli("units", "import", str(good))
    assert t("people.units_imported", added=1, updated=0, unchanged=0) in result.output


def test_invite_without_a_bot_username_prints_the_code_and_the_start_line(kaohe: Path) -> None:
    kaohe_cli("units", "import", str(_units_file(kaohe, [["a01", "甲镇", "town"]])))
    result = kaohe_cli("invite", "--role", "liaison", "--unit", "a01")
    assert result.exit_code == 0, result.output
    assert "t.me" not in result.output
    assert t("people.invite_no_username") in result.output
    match = re.search(r"^/start ([A-Za-z0-9_-]+)$", result.output, re.MULTILINE)
    assert match is not None, result.output
    code = match[1]
    assert f"\n{code}\n" in result.output

    person = redeem_invite(wiring.unit_of_work(), code, 4242, "张三")
    assert (person.role, person.unit_code) == (Role.LIAISON, "a01")


def test_invite_with_the_bot_username_prints_the_t_me_link(
    kaohe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAOHE_BOT_USERNAME", "kaohe_test_bot")
    get_settings.cache_clear()
    result = kaohe_cli("invite", "--role", "viewer", "--expires", "12h")
    assert result.exit_code == 0, result.output
    match = re.search(
        r"^https://t\.me/kaohe_test_bot\?start=([A-Za-z0-9_-]+)$", result.output, re.M
    )
    assert match is not None, result.output
    assert "/start" not in result.output
    person = redeem_invite(wiring.unit_of_work(), match[1], 4242, "李四")
    assert person.role is Role.VIEWER


@pytest.mark.parametrize("value", ["7x", "seven days", "-1d", "1.5d", "d", ""])
def test_an_unreadable_expiry_exits_2_with_a_clear_message(kaohe: Path, value: str) -> None:
    result = kaohe_cli("invite", "--role", "viewer", "--expires", value)
    assert result.exit_code == 2
    assert _flat(t("people.bad_expiry", value=value)) in _flat(result.output)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--role", "boss"], "errors.unknown_role"),
        (["--role", "liaison"], "errors.liaison_needs_unit"),
        (["--role", "viewer", "--expires", "0d"], "errors.invite_expiry_invalid"),
        (["--role", "viewer", "--expires", "20w"], "errors.invite_expiry_invalid"),
    ],
)
def test_an_invite_that_does_not_fit_exits_2_and_stores_nothing(
    kaohe: Path, args: list[str], error: str
) -> None:
    result = kaohe_cli("invite", *args)
    assert result.exit_code == 2
    first_line = t(error, role="boss", roles=[r.value for r in Role], max_days=90)
    assert _flat(first_line) in _flat(result.output)
    with wiring.unit_of_work() as work:
        assert work.session.execute(text("SELECT count(*) FROM invites")).scalar() == 0


def test_an_unknown_unit_exits_2(kaohe: Path) -> None:
    result = kaohe_cli("invite", "--role", "liaison", "--unit", "nowhere")
    assert result.exit_code == 2
    assert _flat(t("errors.unknown_unit", unit="nowhere")) in _flat(result.output)


def test_people_list_shows_everyone_with_role_unit_and_state(kaohe: Path) -> None:
    kaohe_cli("units", "import", str(_units_file(kaohe, [["a01", "甲镇", "town"]])))
    codes = []
    for args in (["--role", "liaison", "--unit", "a01"], ["--role", "rater"]):
        output = kaohe_cli("invite", *args).output
        match = re.search(r"^/start (\S+)$", output, re.MULTILINE)
        assert match is not None
        codes.append(match[1])
    redeem_invite(wiring.unit_of_work(), codes[0], 1001, "张三")
    rater = redeem_invite(wiring.unit_of_work(), codes[1], 1002, "李四")
    assert kaohe_cli("people", "deactivate", str(rater.id)).exit_code == 0

    result = kaohe_cli("people", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    zhang = next(line for line in lines if "张三" in line)
    li = next(line for line in lines if "李四" in line)
    assert t("people.role_liaison") in zhang and "1001" in zhang and "a01" in zhang
    assert t("people.active_yes") in zhang
    assert t("people.role_rater") in li and "1002" in li and t("people.active_no") in li
    people = list_people(wiring.unit_of_work(), Actor.operator())
    assert [p.active for p in people] == [True, False]


def test_people_list_of_an_empty_database_says_so(kaohe: Path) -> None:
    result = kaohe_cli("people", "list")
    assert result.exit_code == 0
    assert _flat(t("people.no_people")) in _flat(result.output)


def test_deactivating_an_unknown_person_exits_2(kaohe: Path) -> None:
    result = kaohe_cli("people", "deactivate", "99")
    assert result.exit_code == 2
    assert _flat(t("errors.unknown_person", person=99)) in _flat(result.output)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 7D ", timedelta(days=7)),
        ("7 d", timedelta(days=7)),
    ],
)
def test_validities_are_read_in_minutes_hours_days_and_weeks(
    value: str, expected: timedelta
) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", ["7", "d7", "7x", "1.5d", "-1d", "", "99999999999999w"])
def test_other_validities_are_not_read(value: str) -> None:
    assert parse_duration(value) is None


def test_invite_with_a_token_but_no_username_asks_telegram_for_the_username(
    kaohe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import threading

    from bot.fake_bot_api import FakeBotApi

    ready = threading.Event()
    holder: dict[str, object] = {}

    def serve() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            holder["loop"], holder["stop"] = asyncio.get_running_loop(), stop
            async with FakeBotApi(bot_username="district_kaohe_bot") as server:
                holder["server"] = server
                ready.set()
                await stop.wait()

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    server = holder["server"]
    assert isinstance(server, FakeBotApi)
    try:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", server.token)
        monkeypatch.setenv("KAOHE_BOT_API_URL", server.base_url)
        monkeypatch.setenv("KAOHE_BOT_FILE_URL", server.base_file_url)
        get_settings.cache_clear()
        result = kaohe_cli("invite", "--role", "viewer")
    finally:
        loop, stop = holder["loop"], holder["stop"]
        assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(stop, asyncio.Event)
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
    assert result.exit_code == 0, result.output
    assert re.search(r"^https://t\.me/district_kaohe_bot\?start=", result.output, re.M)
