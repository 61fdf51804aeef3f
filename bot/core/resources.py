"""Cleanup contexts, one per resource, appended in dependency order by create_app."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.core import db
from bot.core.cache import open_cache
from bot.core.keys import CACHE, DB, ENGINE, HTTP, SETTINGS

logger = logging.getLogger(__name__)


async def http_ctx(app: web.Application) -> AsyncIterator[None]:
    """One client session per process, shared by every outbound call."""
    timeout = aiohttp.ClientTimeout(total=15, connect=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[HTTP] = session
        yield


async def cache_ctx(app: web.Application) -> AsyncIterator[None]:
    """Redis when REDIS_URL is set (shared by workers), else the in-process cache."""
    cache = await open_cache(app[SETTINGS].redis_url)
    app[CACHE] = cache
    yield
    await cache.close()


async def db_ctx(app: web.Application) -> AsyncIterator[None]:
    """The engine and the session factory."""
    engine = db.create_engine(app[SETTINGS].database_url)
    app[ENGINE] = engine
    app[DB] = db.create_sessionmaker(engine)
    yield
    await engine.dispose()


async def gc_freeze_ctx(app: web.Application) -> AsyncIterator[None]:
    """Move everything built at start-up out of the garbage collector's sight.

    jieba's dictionary and the knowledge index are hundreds of thousands of long-lived
    objects; every full collection walked them all, a pause of tens of milliseconds under load.
    No gc.collect() first: it costs ~0.1 s per start (the test suite starts hundreds of apps),
    and the start-up garbage it would spare is small and freed by reference counting anyway.
    """
    gc.freeze()
    yield
    gc.unfreeze()
