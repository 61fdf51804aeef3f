"""/help listed the commands without their Chinese aliases, so members never learnt that
/标签 or /跟进 work."""

from __future__ import annotations

from typing import Any

from bot.sandbox.fake import FakeWeCom
from tests.helpers import say


async def test_help_lists_the_chinese_aliases(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "lead1", "/help")
    for line_start, aliases in [
        ("/tag 客户 标签…", "（/标签 /打标签）"),
        ("/follow 客户 文本 [时间]", "（/跟进）"),
        ("/stats", "（/统计）"),
        ("/assign 客户 员工", "（/分配 /转接）"),
    ]:
        (line,) = [x for x in reply.splitlines() if x.startswith(line_start)]
        assert aliases in line, line
