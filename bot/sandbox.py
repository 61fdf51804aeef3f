"""Sandbox mode: a fake WeCom mounted on the same server, so the product runs with no corp."""

from __future__ import annotations

from aiohttp import web

from bot.keys import FAKE, SETTINGS
from bot.wecom.fake import FakeWeCom

# The fake's address book: (userid, name, departments, position). Departments: 1 总部,
# 2 客服一组, 3 客服二组. Settings default lead1 to supervisor and boss to admin in sandbox.
DEMO_MEMBERS = (
    ("zhangsan", "张三", (2,), "客服"),
    ("lisi", "李四", (2,), "客服"),
    ("wangwu", "王五", (3,), "客服"),
    ("lead1", "刘主管", (2,), "客服主管"),
    ("boss", "老板", (1,), "总经理"),
)


def seed_members(fake: FakeWeCom) -> None:
    """Give the fake WeCom a small org, so user/get answers like a real corp's."""
    for userid, name, departments, position in DEMO_MEMBERS:
        fake.add_member(userid, name, departments, position=position)


def mount(app: web.Application) -> FakeWeCom:
    """Serve the fake under /sandbox/wecom/ (the client's base_url points there)."""
    settings = app[SETTINGS]
    fake = FakeWeCom(
        corp_id=settings.corp_id,
        secret=settings.secret.get_secret_value(),
        token=settings.token.get_secret_value(),
        aes_key=settings.aes_key.get_secret_value(),
        agent_id=settings.agent_id,
        callback_url=f"http://127.0.0.1:{settings.port}/wecom/callback",
    )
    seed_members(fake)
    app[FAKE] = fake
    app.add_subapp("/sandbox/wecom/", fake.app)
    return fake
