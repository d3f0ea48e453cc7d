"""`kaohe` starts like a command-line tool: the help imports none of the heavy libraries, and
the commands listed before they are loaded are the commands their modules register."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
import typer

from cli.app import ALL_TEMPLATE_KINDS, LAZY_COMMANDS, LAZY_PLAN_COMMANDS, Lazy, app
from services.files.input_templates import TEMPLATE_KINDS
from templates import render
from tests.e2e.cli import runner

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "sqlalchemy", "pydantic", "telegram", "matplotlib", "jinja2")
# Typer builds a pydantic adapter for any option value it converts, so a subcommand's help may
# import pydantic: only the top-level help is held to none of HEAVY.
DATA = ("pandas", "numpy", "sqlalchemy", "telegram", "matplotlib")

# Run `kaohe ARGS` in a fresh interpreter and print which heavy modules it imported.
_PROBE = """
import json, sys
sys.argv = ["kaohe", *sys.argv[1:]]
from cli.app import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)), file=sys.stderr)
"""


def _heavy_imports(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # The help in the configured language: its --help line, whatever the language.
    assert "--help" in done.stdout and "kaohe" in done.stdout, done.stdout + done.stderr
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], []])
def test_the_help_imports_no_heavy_library(args: list[str]) -> None:
    assert _heavy_imports(*args) == []


def test_plan_help_imports_no_data_library() -> None:
    assert not set(_heavy_imports("plan", "--help")) & set(DATA)


def test_a_command_group_help_loads_only_its_module() -> None:
    # `kaohe tasks --help` registers cli.tasks (services, SQLAlchemy) but never the bot.
    assert "telegram" not in _heavy_imports("tasks", "--help")


def _registered(entry: Lazy) -> dict[str, str | None]:
    holder = typer.Typer()
    getattr(import_module(entry.module), entry.register)(holder)
    group = typer.main.get_group(holder)
    return {name: command.help for name, command in group.commands.items()}


@pytest.mark.parametrize("table", [LAZY_COMMANDS, LAZY_PLAN_COMMANDS])
def test_every_lazy_command_is_what_its_module_registers(table: dict[str, Lazy]) -> None:
    sources = {(e.module, e.register) for e in table.values()}
    for module, register in sorted(sources):
        registered = _registered(Lazy(module, register, "", False))
        listed = {n: e for n, e in table.items() if (e.module, e.register) == (module, register)}
        assert set(registered) == set(listed), f"{module}.{register}: update cli.app's table"
        for name, entry in listed.items():
            assert registered[name] == render(entry.help_key), name


def test_the_listed_help_is_the_loaded_help() -> None:
    listing = runner.invoke(app, ["--help"]).output
    for name, entry in LAZY_COMMANDS.items():
        assert name in listing
        loaded = runner.invoke(app, [name, "--help"])
        assert loaded.exit_code == 0, (name, loaded.output)
        first_line = render(entry.help_key).split("，")[0][:10]
        assert first_line in " ".join(loaded.output.split()), name


def test_plan_lists_its_loaded_and_lazy_commands() -> None:
    listing = runner.invoke(app, ["plan", "--help"]).output
    assert all(name in listing for name in ("init", "check", "load"))


def test_template_kinds_are_the_writers_kinds() -> None:
    assert (*TEMPLATE_KINDS, "tasks") == ALL_TEMPLATE_KINDS
