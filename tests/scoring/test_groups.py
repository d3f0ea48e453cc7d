"""The one vocabulary of group names: every word names one group, in any case or width."""

from __future__ import annotations

import unicodedata

import pytest

from scoring import Group
from scoring.groups import GROUP_WORDS, SHORT_NAMES, group_words, parse_group
from scoring.plan import GROUP_LABELS


@pytest.mark.parametrize("group", list(Group))
def test_every_word_of_a_group_names_it_in_any_case_or_width(group: Group) -> None:
    for word in group_words(group):
        assert parse_group(word) is group, word
        assert parse_group(f"  {word.upper()} ") is group, word
        wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
        assert unicodedata.normalize("NFKC", wide) == word
        assert parse_group(wide) is group, wide


def test_labels_short_names_and_values_are_words_and_no_word_names_two_groups() -> None:
    for group in Group:
        assert GROUP_LABELS[group] in group_words(group)
        assert SHORT_NAMES[group] in group_words(group)
        assert group.value in group_words(group)
    seen: dict[str, Group] = {}
    for group in Group:
        for word in group_words(group):
            assert seen.setdefault(word.casefold(), group) is group, word
    assert len(GROUP_WORDS) == len(seen)
    assert parse_group("dept") is Group.ZONE_OR_DEPARTMENT
    assert parse_group("街镇") is Group.TOWN
    assert parse_group("开发区") is Group.ZONE_OR_DEPARTMENT


@pytest.mark.parametrize("word", ["", "乡", "towns and depts", "镇街 部门", "zone_or_dept"])
def test_other_words_name_no_group(word: str) -> None:
    assert parse_group(word) is None
