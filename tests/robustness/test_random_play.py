"""A short run of the standing robustness harness: hypothesis plays random registered and
unregistered people of every role against the real Application and the fake Bot API, and after
every step the invariants of tests/robustness/playground.py must hold. The long run, with
faults, is `python -m bench.soak`."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.robustness.playground import COMMANDS, Playground

PEOPLE = st.integers(min_value=0, max_value=7)
# Anything at all, control characters and lone surrogates included, up to 10,000 characters.
# (A long text is a random piece repeated: as hostile as any, and cheap to generate.)
ANY_TEXT = st.one_of(
    st.text(st.characters(codec=None), max_size=40),
    st.sampled_from(["1", "+7", "4-12", "2025-03", "已完成", "2-29", "\x00", "\u202e本单位"]),
    st.builds(
        lambda piece, times: (piece * times)[:10_000],
        st.text(st.characters(codec=None), min_size=1, max_size=12),
        st.integers(min_value=300, max_value=10_000),
    ),
)


class RandomPlay(RuleBasedStateMachine):
    """People doing anything; the bot must always answer and never break anything."""

    template: Path

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = tempfile.TemporaryDirectory(prefix="kaohe-play-")
        self.playground = self.loop.run_until_complete(
            Playground.open(Path(self.folder.name), template=self.template)
        )

    def teardown(self) -> None:
        """Stop the bot and drop its world."""
        self.loop.run_until_complete(self.playground.close())
        self.loop.close()
        self.folder.cleanup()

    def _run(self, coroutine: object) -> None:
        self.loop.run_until_complete(coroutine)  # type: ignore[arg-type]

    @rule(who=PEOPLE, name=st.sampled_from(COMMANDS), args=st.one_of(st.just(""), ANY_TEXT))
    def command(self, who: int, name: str, args: str) -> None:
        """A command with random arguments."""
        self._run(self.playground.command(who, name, args))

    @rule(who=PEOPLE, words=ANY_TEXT)
    def say(self, who: int, words: str) -> None:
        """Random text."""
        self._run(self.playground.say(who, words))

    @rule(who=PEOPLE, pick=st.integers(min_value=0), fresh=st.booleans())
    def tap(self, who: int, pick: int, fresh: bool) -> None:
        """A tap on any button ever shown (stale ones, other people's), or on the newest."""
        self._run(self.playground.tap(who, pick, fresh))

    @rule(
        who=PEOPLE,
        kind=st.sampled_from(["photo", "pdf", "document", "album", "sticker", "voice"]),
        size=st.sampled_from([0, 1, 100, 65_536, 20 * 1024 * 1024, 21 * 1024 * 1024]),
        name=st.one_of(st.sampled_from(["整改.pdf", "data.xlsx", "x.jpg", ""]), ANY_TEXT),
        mime=st.sampled_from(["application/pdf", "image/jpeg", "application/octet-stream"]),
    )
    def send_file(self, who: int, kind: str, size: int, name: str, mime: str) -> None:
        """A file of a random kind and size."""
        self._run(self.playground.send_file(who, kind, size, name, mime))

    @rule(who=PEOPLE)
    def cancel(self, who: int) -> None:
        """/cancel at any point."""
        self._run(self.playground.cancel(who))

    @rule(who=PEOPLE, words=ANY_TEXT)
    def edit(self, who: int, words: str) -> None:
        """An edited message."""
        self._run(self.playground.edit(who, words))

    @rule(hours=st.sampled_from([1, 24, 24 * 7, 24 * 25]))
    def jump(self, hours: int) -> None:
        """The clock jumps forward, across month ends and deadlines."""
        self.playground.jump(hours)

    @rule()
    def remind(self) -> None:
        """A reminder tick."""
        self._run(self.playground.remind())

    @invariant()
    def all_is_well(self) -> None:
        """Every update answered, no error, the audit chain whole, no half-written row, no
        other unit's data shown."""
        assert self.playground.check() == []


@pytest.fixture
def random_play(sqlite_template: Path) -> type[RandomPlay]:
    """The state machine, on copies of the migrated template database."""
    RandomPlay.template = sqlite_template
    return RandomPlay


def test_random_play_keeps_every_invariant(random_play: type[RandomPlay]) -> None:
    run = random_play.TestCase
    run.settings = settings(
        max_examples=3,
        stateful_step_count=20,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    run().runTest()
