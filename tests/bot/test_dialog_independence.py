"""Every dialog module is in the import contract that keeps dialogs independent of each other."""

from __future__ import annotations

import tomllib
from pathlib import Path

import bot.dialogs
from bot.dialogs.registry import all_dialogs

ROOT = Path(__file__).resolve().parents[2]
# Modules of bot.dialogs that are not dialogs: the engine and what the dialogs share.
SHARED = {"engine", "helpers", "evidence", "registry"}


def _independent_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if c["type"] == "independence"]
    return set(contract["modules"])


def test_every_dialog_module_is_kept_independent() -> None:
    folder = Path(bot.dialogs.__file__).parent
    modules = {f"bot.dialogs.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__"}
    dialogs = modules - {f"bot.dialogs.{name}" for name in SHARED}
    assert _independent_modules() == dialogs


def test_every_registered_dialog_lives_in_a_listed_module() -> None:
    listed = _independent_modules()
    assert {type(d).__module__ for d in all_dialogs()} <= listed
