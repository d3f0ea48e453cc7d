"""The message catalogs: both languages complete, every template valid, values escaped."""

from __future__ import annotations

import re

import pytest
from jinja2 import Environment

from bot.menus import COMMANDS
from services.access import Role
from templates import LANGUAGES, has_message, normalise_language, render
from templates.catalog import catalog
from templates.formatting import num, pct


def test_every_message_exists_in_every_language() -> None:
    keys = {lang: set(catalog(lang)) for lang in LANGUAGES}
    for lang in LANGUAGES:
        for other in LANGUAGES:
            assert keys[lang] - keys[other] == set(), f"in {lang} but not in {other}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_a_valid_template(language: str) -> None:
    env = Environment()
    for key, source in catalog(language).items():
        env.parse(source, name=key)


def test_chinese_is_the_default_and_unknown_languages_fall_back_to_it() -> None:
    assert normalise_language(None) == "zh"
    assert normalise_language("zh-hans") == "zh"
    assert normalise_language("en-US") == "en"
    assert normalise_language("fr") == "zh"
    assert render("plan.missing_key") == render("plan.missing_key", "fr")


def test_html_rendering_escapes_user_values() -> None:
    text = render("plan.not_a_text", html=True, got="<b>x</b>")
    assert "<b>" not in text
    assert "&lt;b&gt;" in text


def test_plain_rendering_keeps_values_as_they_are() -> None:
    assert "<b>x</b>" in render("plan.not_a_text", got="<b>x</b>")


def test_a_missing_parameter_is_an_error_not_an_empty_gap() -> None:
    with pytest.raises(Exception, match="got"):
        render("plan.not_a_number")


def test_an_unknown_message_is_an_error() -> None:
    assert not has_message("plan.no_such_message")
    with pytest.raises(KeyError):
        render("plan.no_such_message")


def test_numbers_are_shown_with_two_decimals_rounded_half_up() -> None:
    assert num(2.675) == "2.68"
    assert num(1.005) == "1.01"
    assert num(-2.675) == "-2.68"
    assert num(600) == "600.00"
    assert num(None) == "–"
    assert num(float("nan")) == "–"
    assert pct(0.905) == "90.5%"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", list(Role))
def test_help_names_every_command_of_the_roles_menu(role: Role, language: str) -> None:
    shown = render(f"help.{role.value}", language)
    missing = [
        c for c in COMMANDS[role] if c != "help" and not re.search(rf"/{c}(?![a-z_])", shown)
    ]
    assert missing == []
