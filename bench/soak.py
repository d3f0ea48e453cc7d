"""The long robustness run: random people of every role against the real bot, with the
invariants of tests/robustness/playground.py checked after every step.

    .venv/bin/python -m bench.soak --steps 2000 [--seed 7] [--faults] [--restart-every 500]

Prints what it found as it goes (each failure once, with the step that caused it) and, at the
end, the figures: steps, updates, answers, failures found, time. With --faults the fake Bot API
answers 429, 403, 5xx and timeouts at random and the bot's database becomes unreachable for a
few seconds now and then. Exits 1 if any invariant failed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

os.environ.setdefault("PTB_TIMEDELTA", "1")

from tests.robustness.playground import COMMANDS, ROLE_COMMANDS, Playground

# Text people type: plain words, numbers and dates the dialogs ask for, and hostile text.
WORDS = (
    "已完成", "1", "2", "3", "+7", "4-12", "2025-03", "3", "是", "好", "取消", "跳过", "100",
    "签约 5 个项目", "本镇", "dianzi", "xiji", "0.5", "-1", "1e308", "NaN", "2-29", "13-45",
    "<b>粗体</b>", "&amp;", "{{ name }}", "=cmd|'/c calc'!A1", "/", "@", "#1", "",
)  # fmt: skip
HOSTILE = "\x00\x1b\x07\u202e\u2066\u2069\u200f\ufeff\ud800\r\n\t"
FILE_KINDS = ("photo", "pdf", "document", "album", "sticker", "voice")
SIZES = (0, 1, 100, 5_000, 65_536, 2_000_000, 20 * 1024 * 1024, 21 * 1024 * 1024)
NAMES = ("整改报告.pdf", "data.xlsx", "photo.jpg", "x" * 400 + ".pdf", "a\u202efdp.exe", "", "无")
PDF = "application/pdf"
MIMES = ("application/pdf", "image/jpeg", "application/octet-stream", "text/plain", "")


def random_text(rng: random.Random) -> str:
    """Something a person might type, or anything at all (up to 10,000 characters)."""
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(WORDS)
    if roll < 0.8:
        return "".join(rng.choice(WORDS + tuple(HOSTILE)) for _ in range(rng.randint(1, 8)))
    length = rng.choice((1, 10, 200, 999, 1999, 4096, 10_000))
    return "".join(chr(_code_point(rng)) for _ in range(length))


def _code_point(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.4:
        return rng.randint(0x4E00, 0x9FFF)  # CJK
    if roll < 0.6:
        return rng.randint(0x20, 0x7E)
    if roll < 0.7:
        return rng.randint(0, 0x1F)
    return rng.randint(0, 0x10FFFF)


async def play(steps: int, seed: int, faults: bool, restart_every: int) -> int:
    """Play `steps` random steps; print the findings and the figures; the number of failures."""
    rng = random.Random(seed)
    found: dict[str, int] = {}
    started = time.monotonic()
    totals: dict[str, int] = {"steps": 0, "updates": 0, "answers": 0, "excused": 0}
    expected_errors = outages = 0
    actions: Counter[str] = Counter()
    rows: Counter[str] = Counter()
    done = 0
    while done < steps:
        with tempfile.TemporaryDirectory(prefix="kaohe-soak-") as folder:
            playground = await Playground.open(
                Path(folder), seed=rng.randrange(2**31), faults=faults
            )
            try:
                for _ in range(min(restart_every, steps - done)):
                    action = await _random_step(playground, rng)
                    done += 1
                    for problem in playground.check():
                        key = problem[:160]
                        if key not in found:
                            print(f"step {done} ({action}): {problem}", flush=True)
                            for error in playground.new_errors:
                                print("".join(traceback.format_exception(error))[-3000:])
                        found[key] = found.get(key, 0) + 1
                    if done % 250 == 0:
                        print(f"... {done} steps, {time.monotonic() - started:.0f} s", flush=True)
            finally:
                figures = playground.figures
                for name in totals:
                    totals[name] += getattr(figures, name)
                expected_errors += figures.errors_expected
                actions.update(figures.actions)
                rows.update(playground.rows())
                outages += figures.outages
                await playground.close()
    elapsed = time.monotonic() - started
    print(
        f"seed {seed}{' with faults' if faults else ''}: {totals['steps']} steps, "
        f"{totals['updates']} updates, {totals['answers']} answered, "
        f"{totals['excused']} unanswerable (every answer refused by an injected fault), "
        f"{expected_errors} injected errors handled, {outages} database outages, "
        f"{len(found)} distinct failures ({sum(found.values())} in all), {elapsed:.0f} s "
        f"({elapsed / max(1, totals['steps']) * 1000:.0f} ms a step)"
    )
    print("actions:", ", ".join(f"{k} {v}" for k, v in actions.most_common()))
    print("rows written:", ", ".join(f"{k} {v}" for k, v in rows.most_common()))
    return len(found)


class _Journey:
    """One person doing several things in a row (to get deep into a dialog)."""

    who: int | None = None
    left: int = 0


_journey = _Journey()


async def _random_step(playground: Playground, rng: random.Random) -> str:
    if _journey.left > 0 and _journey.who is not None:
        _journey.left -= 1
        return await _journey_step(playground, rng, _journey.who)
    # Liaisons and the coordinator do most; everyone does something.
    who = rng.choice((0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7))
    if rng.random() < 0.08 and who in (0, 1):
        return await _rectify(playground, rng, who)
    if rng.random() < 0.15:
        role = playground.people[who].role
        _journey.who, _journey.left = who, rng.randint(4, 14)
        name = rng.choice(ROLE_COMMANDS[role])
        await playground.command(who, name, "")
        return f"journey /{name}"
    roll = rng.random()
    if roll < 0.25:
        role = playground.people[who].role
        name = rng.choice(ROLE_COMMANDS[role] if rng.random() < 0.7 else COMMANDS)
        args = random_text(rng) if rng.random() < 0.4 else ""
        await playground.command(who, name, args)
        return f"/{name}"
    if roll < 0.50:
        await playground.say(who, random_text(rng))
        return "text"
    if roll < 0.75:
        await playground.tap(who, rng.randrange(1 << 30), fresh=rng.random() < 0.7)
        return "tap"
    if roll < 0.83:
        kind = rng.choice(FILE_KINDS)
        await playground.send_file(
            who, kind, rng.choice(SIZES), rng.choice(NAMES), rng.choice(MIMES)
        )
        return f"file:{kind}"
    if roll < 0.88:
        await playground.cancel(who)
        return "/cancel"
    if roll < 0.91:
        await playground.edit(who, random_text(rng))
        return "edit"
    if roll < 0.95:
        playground.jump(rng.choice((1, 6, 24, 24 * 3, 24 * 10, 24 * 25)))
        return "clock"
    if roll < 0.98 or not playground.faults:
        await playground.remind()
        return "reminders"
    playground.outage(rng.uniform(0.5, 3.0))
    return "outage"


async def _rectify(playground: Playground, rng: random.Random, who: int) -> str:
    """A liaison proves a rectification from start to end, with random text and a file, and
    the checks after every step (a scripted journey: random play alone rarely gets there)."""
    problems: list[str] = []
    moves = (
        playground.command(who, "rectify", ""),
        playground.tap_label(who, "🟢"),
        playground.tap_label(who, "#"),
        playground.say(who, random_text(rng) if rng.random() < 0.5 else "已补齐台账并建立制度"),
        playground.send_file(
            who, rng.choice(("photo", "pdf")), 5_000, "证明.pdf", "application/pdf"
        ),
        playground.tap_label(who, "✅ 完成"),
        playground.tap_label(who, "✅ 提交"),
    )
    for move in moves:
        await move
        problems += playground.check()
    playground.carry(problems)
    return "journey /rectify"


async def _journey_step(playground: Playground, rng: random.Random, who: int) -> str:
    """The next move of a journey: mostly a button of the newest message, else text or a file."""
    roll = rng.random()
    if roll < 0.55:
        await playground.tap(who, rng.randrange(1 << 30), fresh=True)
        return "journey tap"
    if roll < 0.85:
        await playground.say(who, random_text(rng))
        return "journey text"
    kind = rng.choice(("photo", "pdf", "album"))
    await playground.send_file(who, kind, 5_000, "整改报告.pdf", "application/pdf")
    return f"journey file:{kind}"


def main() -> None:
    """Parse the arguments and play."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--restart-every", type=int, default=1000, help="steps per fresh world")
    options = parser.parse_args()
    # The bot logs every handled error with its traceback; the soak prints what matters.
    logging.basicConfig(level=logging.CRITICAL)
    failures = asyncio.run(
        play(options.steps, options.seed, options.faults, options.restart_every)
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
