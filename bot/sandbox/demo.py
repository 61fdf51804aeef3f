"""Sandbox mode: a fake WeCom on the same server (or a standalone one), and demo data.

Imported only by `bot.app` when SIDEKICK_SANDBOX=1, by `python -m bot fake-wecom` and by tests:
production never loads the fake.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from sqlalchemy import func, select

from bot.core import db
from bot.core.keys import DB, SETTINGS
from bot.domain import channels
from bot.domain.lifecycle_models import SopRule
from bot.domain.models import WelcomeTemplate
from bot.domain.sop import rules as sop_rules
from bot.sandbox import standalone
from bot.sandbox.fake import FakeWeCom
from knowledge import demo, store

logger = logging.getLogger(__name__)

# The fake WeCom served on this server (absent when the sandbox uses a standalone fake).
FAKE = web.AppKey("fake_wecom", FakeWeCom)
DEMO_CHANNELS = Path(__file__).with_name("demo_channels.yaml")
# The default SOP rules: issue 13's four scenarios.
DEMO_SOP_RULES = Path(__file__).with_name("sop_rules.yaml")

# The fake's address book: departments, then (userid, name, departments, position).
# Settings default lead1 to supervisor and boss to admin in sandbox.
DEMO_DEPARTMENTS = ((1, "花漾肌研"), (2, "客服一组"), (3, "客服二组"))
DEMO_MEMBERS = (
    ("zhangsan", "张三", (2,), "客服"),
    ("lisi", "李四", (2,), "客服"),
    ("wangwu", "王五", (3,), "客服"),
    ("lead1", "刘主管", (2,), "客服主管"),
    ("boss", "老板", (1,), "总经理"),
)


# The demo's 微信客服 account (the simulator's kf chat goes to it).
DEMO_KF_ACCOUNT = ("wksandboxkf0001", "花漾肌研客服")


def seed_members(fake: FakeWeCom) -> None:
    """Give the fake WeCom a small org, so the address book answers like a real corp's."""
    for dept_id, name in DEMO_DEPARTMENTS:
        fake.add_department(dept_id, name)
    for userid, name, departments, position in DEMO_MEMBERS:
        fake.add_member(userid, name, departments, position=position)
    fake.add_kf_account(*DEMO_KF_ACCOUNT)


def mount(app: web.Application) -> FakeWeCom:
    """Serve the fake under /sandbox/wecom/ (the client's base_url points there)."""
    settings = app[SETTINGS]
    fake = standalone.build(settings, f"http://127.0.0.1:{settings.port}/wecom/callback")
    seed_members(fake)
    app[FAKE] = fake
    app.add_subapp("/sandbox/wecom/", fake.app)
    return fake


async def seed(app: web.Application) -> None:
    """Store the demo knowledge base, channels and welcome templates where there are none.

    Safe when several workers start together: each step runs under a database lock and
    re-checks inside it, so exactly one worker seeds and the others find the data there.
    """
    async with app[DB].begin() as session:
        await db.exclusive(session, "sandbox-seed")
        if not await store.count_entries(session):
            kb = await asyncio.to_thread(demo.load_demo)
            await store.replace_kb(session, kb)
            logger.info("sandbox: demo knowledge base seeded (%d entries)", len(kb.entries))
        if not await session.scalar(select(func.count()).select_from(WelcomeTemplate)):
            data = await asyncio.to_thread(channels.read_file, DEMO_CHANNELS)
            await channels.store(session, data)
            logger.info("sandbox: demo channels and welcome templates seeded")
        if not await session.scalar(select(func.count()).select_from(SopRule)):
            rules = await asyncio.to_thread(sop_rules.read_file, DEMO_SOP_RULES)
            await sop_rules.store(session, rules, now=db.utcnow())
            logger.info("sandbox: default SOP rules seeded (%d)", len(rules))


async def seed_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context (sandbox mode only): seed before the knowledge base loads."""
    await seed(app)
    yield
