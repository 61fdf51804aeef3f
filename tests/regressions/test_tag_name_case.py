"""/tag 张三 vip was refused although the corp library has "VIP"."""

from __future__ import annotations

from typing import Any

from bot.sandbox.fake import FakeWeCom
from tests.helpers import say, texts_to


async def test_tag_names_ignore_case(fake: FakeWeCom, team: Any) -> None:
    assert "已给 张三 打上：VIP" in await say(fake, "alice", "/tag 张三 vip")
    assert "已经有这些标签了" in await say(fake, "alice", "/tag 张三 VIP Vip")
    assert "已去掉 张三 的：VIP" in await say(fake, "alice", "/untag 张三 vip")
    assert len(fake.calls_to("externalcontact/mark_tag")) == 2


async def test_unknown_tag_without_near_names_points_to_library(
    fake: FakeWeCom, team: Any
) -> None:
    reply = await say(fake, "alice", "/tag 张三 量子纠缠")
    assert "没有标签「量子纠缠」" in reply
    assert "/tags" in reply


async def test_wecom_refusal_is_explained_not_a_crash(fake: FakeWeCom, team: Any) -> None:
    fake.state.contacts["c1"]["follow_user"].clear()  # WeCom no longer sees alice ↔ 张三
    reply = await say(fake, "alice", "/tag 张三 VIP")
    assert "出错了" not in reply
    # The tag is kept here; WeCom's refusal reaches the rep who asked, with the reason.
    (notice,) = [t for t in texts_to(fake, "alice") if t.startswith("【未能完成】")]
    assert "给客户 张三 打标签「VIP」" in notice
    assert "不是好友关系（errcode 84061）" in notice
