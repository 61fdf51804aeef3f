"""/help by role, usage details, unknown commands, the full-width slash and the plain-text hint."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.fake import FakeWeCom
from tests.helpers import say

REP_COMMANDS = ["/tag", "/untag", "/note", "/follow", "/done", "/todo", "/escalate", "/find"]
SUPERVISOR_COMMANDS = ["/stats", "/escalations", "/resolve", "/assign", "/transfer", "/overdue"]


async def test_rep_help_lists_only_rep_commands(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/help")
    for name in REP_COMMANDS:
        assert name in reply
    for name in SUPERVISOR_COMMANDS + ["/role"]:
        assert name not in reply


async def test_supervisor_help_lists_both(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "lead1", "/help")
    for name in REP_COMMANDS + SUPERVISOR_COMMANDS:
        assert name in reply
    assert "/role" not in reply


async def test_admin_help_lists_admin_commands(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "boss", "/help")
    assert "/role" in reply
    assert "/tagnew" in reply


async def test_new_member_is_a_rep(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "newbie", "/help")
    assert "/tag" in reply
    assert "/stats" not in reply


async def test_help_for_one_command(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/help tag")
    assert "用法：/tag 客户 标签…" in reply
    assert "例如：/tag 张三" in reply
    assert "/标签" in reply


async def test_help_for_forbidden_command_says_so(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/help assign")
    assert "/assign 客户 员工" in reply
    assert "不能使用" in reply


@pytest.mark.parametrize("text", ["／help", "／帮助", "/HELP", " /help "])
async def test_slash_variants(fake: FakeWeCom, team: Any, text: str) -> None:
    assert "你可以使用的命令" in await say(fake, "alice", text)


@pytest.mark.parametrize(
    ("text", "suggested"), [("/tga 张三 VIP", "/tag"), ("/hepl", "/help"), ("/todos", "/todo")]
)
async def test_unknown_command_suggests(
    fake: FakeWeCom, team: Any, text: str, suggested: str
) -> None:
    reply = await say(fake, "alice", text)
    assert "没有命令" in reply
    assert f"你是不是想输入 {suggested}" in reply


async def test_unknown_command_never_suggests_forbidden(fake: FakeWeCom, team: Any) -> None:
    reply = await say(fake, "alice", "/asign 张三 bob")
    assert "/assign" not in reply


async def test_plain_text_gets_hint(fake: FakeWeCom, team: Any) -> None:
    assert "/help" in await say(fake, "alice", "你好")
