"""Updates of different chats run at once; one chat's updates run in order."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update

from bot.update_processor import PerChatUpdateProcessor


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, None, chat, text="x"))  # type: ignore[arg-type]


async def test_one_chats_updates_run_in_order_and_other_chats_meanwhile() -> None:
    processor = PerChatUpdateProcessor()
    events: list[str] = []
    release_first = asyncio.Event()

    async def slow(name: str) -> None:
        events.append(f"start {name}")
        await release_first.wait()
        events.append(f"end {name}")

    async def quick(name: str) -> None:
        events.append(f"start {name}")
        events.append(f"end {name}")

    first = asyncio.create_task(processor.process_update(_update(1, 10), slow("a1")))
    second = asyncio.create_task(processor.process_update(_update(2, 10), quick("a2")))
    other = asyncio.create_task(processor.process_update(_update(3, 20), quick("b1")))
    await asyncio.wait_for(other, 1)
    assert events == ["start a1", "start b1", "end b1"]  # chat 20 did not wait for chat 10
    release_first.set()
    await asyncio.wait_for(asyncio.gather(first, second), 1)
    assert events[3:] == ["end a1", "start a2", "end a2"]  # chat 10 kept its order
    assert processor._locks == {}  # idle chats are forgotten
