"""/dashboard and the Mini App's buttons: the bot's side of the dashboard."""

from __future__ import annotations

import re

from bot.fake_bot_api.models import inline_buttons
from services.access import Role
from services.dashboard import use_dashboard_link
from services.errors import Refused
from templates import render
from tests.bot.world import BotWorld

WEB_URL = "https://kaohe.example.org"


def _link(text: str) -> str:
    match = re.search(r"(\S+)/login\?token=(\S+)", text)
    assert match is not None, text
    return match.group(2)


async def test_dashboard_gives_a_one_time_link_without_a_preview(world: BotWorld) -> None:
    viewer = await world.join(3001, Role.VIEWER, name="钱领导")
    viewer.send_command("/dashboard")
    await world.step()
    text = world.texts(viewer)[-1]
    token = _link(text)
    # KAOHE_WEB_URL unset: the local address; ten minutes from the clock's 10:00.
    url = f"http://127.0.0.1:8080/login?token={token}"
    expected = render("web.bot_link", "zh", url=url, expires="2025-03-10 10:10")
    assert text == re.sub(r"<[^>]+>", "", expected)
    [call] = [c for c in world.server.calls("sendMessage") if "/login?token=" in c.params["text"]]
    assert call.params["link_preview_options"] == {"is_disabled": True}
    user = use_dashboard_link(world.uow(), token)
    assert user.display_name == "钱领导" and user.actor.role is Role.VIEWER
    try:
        use_dashboard_link(world.uow(), token)
    except Refused as exc:
        assert exc.code == "dashboard_link_invalid"
    else:
        raise AssertionError("a link worked twice")


async def test_with_a_public_address_the_dashboard_opens_as_a_mini_app(world: BotWorld) -> None:
    world.deps.settings = world.deps.settings.model_copy(update={"web_url": WEB_URL + "/"})
    coordinator = await world.join(3002, Role.COORDINATOR, name="赵敏")
    coordinator.send_command("/standings")
    await world.step()
    # The menu of their role is set with their first command, the Mini App's button with it.
    assert world.server.menu_button(3002) == {
        "type": "web_app",
        "text": render("menu.dashboard_button", "zh"),
        "web_app": {"url": WEB_URL + "/"},
    }
    last = world.server.messages_to(3002)
    opened = [
        b["web_app"]["url"] for m in last for b in inline_buttons(m.reply_markup) if "web_app" in b
    ]
    assert opened == [WEB_URL + "/?year=2025"]
    coordinator.send_command("/unit", "店子镇")
    await world.step()
    buttons = inline_buttons(world.server.messages_to(3002)[-1].reply_markup)
    assert [b["web_app"]["url"] for b in buttons] == [WEB_URL + "/unit/dianzi?year=2025"]
    coordinator.send_command("/dashboard")
    await world.step()
    message = world.server.messages_to(3002)[-1]
    [button] = inline_buttons(message.reply_markup)
    assert button["url"].startswith(WEB_URL + "/login?token=")


async def test_without_a_public_address_no_mini_app_button(world: BotWorld) -> None:
    coordinator = await world.join(3003, Role.COORDINATOR)
    coordinator.send_command("/standings")
    await world.step()
    assert world.server.menu_button(3003) is None
    for message in world.server.messages_to(3003):
        assert all("web_app" not in b for b in inline_buttons(message.reply_markup))
