"""Routing by (MsgType, Event, ChangeType) and what the logs may carry."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.core.keys import WECOM
from bot.core.log import QUIET_LOGGERS
from bot.inbound.router import EventContext, EventRouter, Reply
from bot.sandbox.fake import FakeWeCom
from bot.wecom.events import Event
from tests import conftest
from tests.helpers import say


def _event(**fields: str) -> Event:
    return Event(fields=fields, xml="<xml/>")


async def _a(ctx: EventContext) -> Reply:
    return Reply("a")


async def _b(ctx: EventContext) -> Reply:
    return Reply("b")


async def _c(ctx: EventContext) -> Reply:
    return Reply("c")


def test_the_most_specific_handler_wins() -> None:
    router = EventRouter()
    router.on("event")(_a)
    router.on("event", "change_external_contact")(_b)
    router.on("event", "change_external_contact", "add_external_contact")(_c)
    add = _event(
        MsgType="event", Event="change_external_contact", ChangeType="add_external_contact"
    )
    edit = _event(
        MsgType="event", Event="change_external_contact", ChangeType="edit_external_contact"
    )
    click = _event(MsgType="event", Event="click")
    assert router.resolve(add) is _c
    assert router.resolve(edit) is _b
    assert router.resolve(click) is _a
    assert router.resolve(_event(MsgType="image")) is None


def test_a_duplicate_registration_fails_at_start_up() -> None:
    first, second = EventRouter(), EventRouter()
    first.on("text")(_a)
    second.on("text")(_b)
    combined = EventRouter()
    with pytest.raises(ValueError, match="two handlers"):
        combined.include(first, second)


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"MsgType": "text", "MsgId": "123", "FromUserName": "u"}, "msg:123"),
        (
            {
                "MsgType": "event",
                "Event": "change_external_contact",
                "ChangeType": "add_external_contact",
                "FromUserName": "sys",
                "UserID": "zhangsan",
                "ExternalUserID": "wm1",
                "CreateTime": "1700000000",
            },
            "ev:change_external_contact:add_external_contact:zhangsan:wm1:::1700000000",
        ),
        (
            {"MsgType": "event", "Event": "click", "FromUserName": "u", "CreateTime": "17"},
            "ev:u:click:17",
        ),
    ],
)
def test_dedup_keys(fields: dict[str, str], key: str) -> None:
    assert _event(**fields).dedup_key() == key


def test_two_customers_added_in_the_same_second_are_not_duplicates() -> None:
    base = {
        "MsgType": "event",
        "Event": "change_external_contact",
        "ChangeType": "add_external_contact",
        "FromUserName": "sys",
        "UserID": "zhangsan",
        "CreateTime": "1700000000",
    }
    one = _event(**base, ExternalUserID="wm1")
    two = _event(**base, ExternalUserID="wm2")
    assert one.dedup_key() != two.dedup_key()


async def test_logs_carry_no_message_text_tokens_or_keys(
    client: Any, fake: FakeWeCom, caplog: pytest.LogCaptureFixture
) -> None:
    for name in QUIET_LOGGERS:  # as configure_logging leaves them at any level
        caplog.set_level(logging.WARNING, logger=name)
    caplog.set_level(logging.DEBUG)  # last: it also sets the capturing handler's level
    secret_text = "我的身份证号是110101199001011234"
    assert await say(fake, "zhangsan", secret_text)
    fake.fail_next("message/send", 42001)  # a token refresh and a retry, logged
    await client.app[WECOM].send_text("zhangsan", secret_text)
    tokens = list(fake.state.tokens)
    assert tokens
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "callback kind=text" in logged
    for forbidden in [secret_text, "110101199001011234", conftest.AES_KEY, conftest.SECRET,
                      *tokens]:  # fmt: skip
        assert forbidden not in logged
