"""App messages to one member are capped at WeCom's 30 a minute, shared across clients."""

from __future__ import annotations

import pytest

from bot.core.cache import MemoryCache
from bot.core.errors import WeComError
from bot.sandbox.fake import FakeWeCom
from bot.wecom.client import MEMBER_MESSAGES_PER_MINUTE, RATE_LIMITED_ERRCODE
from tests.wecom.conftest import ClientFactory


async def test_the_31st_message_in_a_minute_is_refused_before_wecom_drops_it(
    make_client: ClientFactory, wecom_fake: FakeWeCom
) -> None:
    cache = MemoryCache()
    one, two = make_client(cache), make_client(cache)  # two workers, one shared cache
    for n in range(MEMBER_MESSAGES_PER_MINUTE):
        await (one if n % 2 else two).send_text("zhangsan", f"第{n}条")
    with pytest.raises(WeComError) as caught:
        await one.send_text("zhangsan", "第31条")
    assert caught.value.errcode == RATE_LIMITED_ERRCODE
    await one.send_text("lisi", "别人不受影响")
    sent = [c for c in wecom_fake.calls if c["path"] == "cgi-bin/message/send"]
    assert len(sent) == MEMBER_MESSAGES_PER_MINUTE + 1
