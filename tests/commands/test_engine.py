"""The command engine without a server: registry rules, parsing, argument helpers."""

from __future__ import annotations

import pytest

from handlers.commands import dispatch as command_dispatch
from handlers.commands.engine import CommandRouter, Context, Reply, Role, first, take, words


async def _noop(ctx: Context, args: str) -> Reply:
    return Reply(args)


def _router() -> CommandRouter:
    router = CommandRouter()
    router.command("tag", help="打标签", aliases=["标签"])(_noop)
    router.command("stats", help="统计", role=Role.SUPERVISOR)(_noop)
    router.command("secret", help="隐藏", hidden=True)(_noop)
    return router


def test_duplicate_names_fail_at_include() -> None:
    dup = CommandRouter()
    dup.command("tags", help="x", aliases=["标签"])(_noop)
    with pytest.raises(ValueError, match="registered twice"):
        CommandRouter().include(_router(), dup)


def test_names_must_be_ascii() -> None:
    with pytest.raises(ValueError, match="lower-case ASCII"):
        CommandRouter().command("标签", help="x")(_noop)


def test_lookup_and_visibility() -> None:
    router = _router()
    assert router.get("TAG") is router.get("标签")
    assert [c.name for c in router.available(Role.REP)] == ["tag"]
    assert [c.name for c in router.available(Role.ADMIN)] == ["tag", "stats"]
    assert router.suggest("stat", Role.REP) == []
    assert router.suggest("stat", Role.SUPERVISOR) == ["stats"]


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("/tag 张三 VIP", "tag", "张三 VIP"),
        ("／标签　张三 VIP", "标签", "张三 VIP"),
        ("  /todo  ", "todo", ""),
        ("/2", "2", ""),
    ],
)
def test_parse(text: str, name: str, args: str) -> None:
    assert command_dispatch.parse(text) == command_dispatch.Parsed(name, args)


def test_is_command() -> None:
    assert command_dispatch.is_command(" ／help")
    assert not command_dispatch.is_command("help /x")


def test_argument_helpers() -> None:
    assert words('"Tom Lee" VIP “高 意向”') == ["Tom Lee", "VIP", "高 意向"]
    assert take("张三 回电  明天 10点", 1) == (["张三"], "回电  明天 10点")
    assert first("") == ("", "")
    assert first('"Tom Lee" 已报价') == ("Tom Lee", "已报价")
