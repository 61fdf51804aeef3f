"""Every typed application key; app state is read only through these."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.cache import Cache
from bot.inbox_writer import InboxWriter
from bot.router import EventRouter
from bot.settings import Settings
from bot.wecom.client import WeComClient
from bot.wecom.crypto import WeComCrypto
from bot.wecom.fake import FakeWeCom
from knowledge import live

SETTINGS = web.AppKey("settings", Settings)
HTTP = web.AppKey("http", aiohttp.ClientSession)
CACHE = web.AppKey("cache", Cache)
ENGINE = web.AppKey("engine", AsyncEngine)
DB = web.AppKey("db", async_sessionmaker[AsyncSession])
WECOM = web.AppKey("wecom", WeComClient)
CRYPTO = web.AppKey("crypto", WeComCrypto)
ROUTER = web.AppKey("router", EventRouter)
INBOX = web.AppKey("inbox", InboxWriter)
TASKS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("tasks")
# A random id per process: who claimed an inbox row.
INSTANCE = web.AppKey("instance", str)
# Sandbox mode only: the fake WeCom served on the same server.
FAKE = web.AppKey("fake_wecom", FakeWeCom)
# The live knowledge (FAQ index + keyword rules), swapped atomically on reload (bot.kb).
KB = web.AppKey("kb", live.LiveKnowledge)
# The stored KB revision this worker's snapshot was built from (see bot/kb.py).
KB_REVISION: web.AppKey[list[int]] = web.AppKey("kb_revision")
