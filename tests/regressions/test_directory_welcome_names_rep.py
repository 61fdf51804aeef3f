"""The first customer's welcome read "我是你的专属顾问" with no name: the rep's name was only
learnt (user/get) after the welcome, which must go out first within the code's 20 s.

The address book is now mirrored at start-up (and periodically), so the rep's name is known
before their first event.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_app
from bot.core.keys import DB
from bot.domain.models import Staff, WelcomeTemplate
from bot.sandbox.fake import FakeWeCom
from tests.conftest import make_settings
from tests.helpers import settle


async def _known(sm: async_sessionmaker[AsyncSession], userid: str) -> bool:
    for _ in range(250):
        async with sm() as session:
            if await session.get(Staff, userid) is not None:
                return True
        await asyncio.sleep(0.02)
    return False


async def test_first_welcome_names_the_rep(
    fake: FakeWeCom, fake_server: TestServer, db_path: Path, aiohttp_client: Any
) -> None:
    fake.add_member("zhangsan", "张三", [2])
    settings = make_settings(db_path, fake_server, directory_sync_interval=3600.0)
    app = create_app(settings)
    client = await aiohttp_client(app)
    fake.callback_url = str(client.make_url("/wecom/callback"))
    async with app[DB].begin() as session:
        session.add(WelcomeTemplate(id="default", scope="default",
                                    text="你好，我是{rep|你的专属顾问}"))  # fmt: skip
    assert await _known(app[DB], "zhangsan"), "the start-up sync never ran"
    fake.add_contact("wmnew0001", name="林小姐", follow_user=["zhangsan"])
    status, _ = await fake.post_callback(
        fake.callback_url, fake.xml_add_external_contact("zhangsan", "wmnew0001", "", "WC1")
    )
    assert status == 200
    await settle(app)
    (welcome,) = fake.calls_to("externalcontact/send_welcome_msg")
    assert welcome["json"]["text"]["content"] == "你好，我是张三"
    assert not fake.calls_to("user/get")  # nothing was asked about the rep on the way
