"""One vocabulary of the two ranking groups: the names people type or write for each, used by
the bot (/standings), the workbooks (the units import, the drop-down lists), the command line
(`kaohe standings --group`) and their help texts, so that a word one accepts the others accept.
"""

from __future__ import annotations

import unicodedata

from scoring.plan import GROUP_LABELS, Group

# The short name of each group on the command line and in /standings (what help texts offer
# next to the Chinese label of scoring.plan.GROUP_LABELS).
SHORT_NAMES: dict[Group, str] = {Group.TOWN: "town", Group.ZONE_OR_DEPARTMENT: "dept"}

# Every word that names a group, as matched (see `word_key`). 开发区 (the development zone) is
# ranked with the departments, so it names their group.
_ALIASES: dict[Group, tuple[str, ...]] = {
    Group.TOWN: ("towns", "镇", "街道", "街镇", "镇和街道", "镇、街道"),
    Group.ZONE_OR_DEPARTMENT: (
        "zone",
        "depts",
        "department",
        "departments",
        "开发区",
        "开发区和部门",
        "开发区、部门",
        "区直部门",
        "区直各部门",
    ),
}


def word_key(text: str) -> str:
    """A word as matched: NFKC (full-width to half-width), stripped, case-folded."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def group_words(group: Group) -> tuple[str, ...]:
    """Every word that names `group`: its label, its short name, its value, then the aliases."""
    return (GROUP_LABELS[group], SHORT_NAMES[group], group.value, *_ALIASES[group])


GROUP_WORDS: dict[str, Group] = {
    word_key(word): group for group in Group for word in group_words(group)
}


def parse_group(text: str) -> Group | None:
    """The group a word names (in any case or width), or None."""
    return GROUP_WORDS.get(word_key(text))
