"""Every user-facing text of kaohe, rendered from per-language message catalogs.

Catalogs are YAML files under `templates/messages/<language>/`; each file holds Jinja2 templates
keyed by name, and a message is addressed as `<namespace>.<key>` (for example
`plan.unknown_key`), the namespace being the file name up to its first underscore, so that
`errors_people.yaml` and `errors_findings.yaml` both add to `errors.*`. A key defined twice in
one namespace is an error.
HTML rendering escapes every value, for Telegram's HTML parse mode; plain rendering is for the
terminal and for workbooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from templates.formatting import num, pct

if TYPE_CHECKING:
    from jinja2 import Environment, Template

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
MESSAGES_DIR = Path(__file__).parent / "messages"


# The C loader when PyYAML has it: reading every catalog is then a few milliseconds.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# What makes a source a template; without any of these Jinja2 would give the text back as is.
_JINJA_MARKS = ("{{", "{%", "{#")


@cache
def _environment(html: bool) -> Environment:
    # Imported on first use: most command-line runs (`kaohe --help`) render plain text only.
    from jinja2 import Environment, StrictUndefined

    env = Environment(autoescape=html, undefined=StrictUndefined, keep_trailing_newline=False)
    env.filters["num"] = num
    env.filters["pct"] = pct
    return env


@cache
def catalog(language: str) -> Mapping[str, str]:
    """All message sources of one language, keyed `<file>.<key>`."""
    out: dict[str, str] = {}
    for path in sorted((MESSAGES_DIR / language).glob("*.yaml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        namespace = path.stem.split("_")[0]
        for key, source in data.items():
            full = f"{namespace}.{key}"
            if full in out:
                raise ValueError(f"message {full} is defined twice ({path.name})")
            out[full] = str(source)
    return out


@cache
def _template(language: str, key: str, html: bool) -> Template:
    return _environment(html).from_string(catalog(language)[key])


@cache
def _plain(language: str, key: str) -> str | None:
    """The text of a message that has no template syntax (rendered without Jinja2), else None."""
    source = catalog(language)[key]
    return None if any(mark in source for mark in _JINJA_MARKS) else source.strip()


def normalise_language(language: str | None) -> str:
    """The catalog language for a language tag such as `zh-hans` or `en-US`."""
    tag = (language or DEFAULT_LANGUAGE).lower().split("-")[0].split("_")[0]
    return tag if tag in LANGUAGES else DEFAULT_LANGUAGE


def render(key: str, language: str | None = None, *, html: bool = False, **params: Any) -> str:
    """Render message `key` in `language` (Chinese by default); HTML-escape values if `html`."""
    lang = normalise_language(language)
    if key not in catalog(lang):
        raise KeyError(f"no message {key!r} in language {lang!r}")
    plain = _plain(lang, key)
    if plain is not None:
        return plain
    return _template(lang, key, html).render(**params).strip()


def has_message(key: str, language: str | None = None) -> bool:
    """Whether the catalog of `language` has message `key`."""
    return key in catalog(normalise_language(language))
