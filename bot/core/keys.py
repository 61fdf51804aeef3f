"""Every typed application key; app state is read only through these.

Keys whose values belong to higher layers (the WeCom client, the router, the inbox writer,
the outbox sender) name their types for mypy only, so this core module imports nothing above
it at run time.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.cache import Cache
from bot.core.clock import Clock
from bot.core.settings import Settings
from knowledge import live

if TYPE_CHECKING:
    from bot.inbound.inbox_writer import InboxWriter
    from bot.inbound.router import EventRouter
    from bot.outbox.sender import Sender
    from bot.wecom.client import WeComClient
    from bot.wecom.crypto import WeComCrypto

SETTINGS = web.AppKey("settings", Settings)
HTTP = web.AppKey("http", aiohttp.ClientSession)
CACHE = web.AppKey("cache", Cache)
ENGINE = web.AppKey("engine", AsyncEngine)
DB = web.AppKey("db", async_sessionmaker[AsyncSession])
# What time it is for everything time-based (due steps, retries, rate windows); tests set it.
CLOCK = web.AppKey("clock", Clock)
WECOM: web.AppKey[WeComClient] = web.AppKey("wecom")
CRYPTO: web.AppKey[WeComCrypto] = web.AppKey("crypto")
ROUTER: web.AppKey[EventRouter] = web.AppKey("router")
INBOX: web.AppKey[InboxWriter] = web.AppKey("inbox")
OUTBOX: web.AppKey[Sender] = web.AppKey("outbox")
TASKS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("tasks")
# A random id per process: who claimed an inbox row or an effect.
INSTANCE = web.AppKey("instance", str)
# The live knowledge (FAQ index + keyword rules), swapped atomically on reload (bot.domain.kb).
KB = web.AppKey("kb", live.LiveKnowledge)
# The stored KB revision this worker's snapshot was built from (see bot/domain/kb.py).
KB_REVISION: web.AppKey[list[int]] = web.AppKey("kb_revision")
