"""Shared state behind one small interface: Redis when configured, else in-process.

Every key written through a `Cache` carries a TTL; nothing lives forever. Key names come from
one function in the module that owns them (e.g. `bot.wecom.transport.token_key`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import LockError

logger = logging.getLogger(__name__)

# Purge expired in-memory keys after this many writes, so an idle key set does not grow.
_SWEEP_EVERY = 1000
# How often a blocked Redis lock polls; short, because locks guard sub-second refreshes.
_REDIS_LOCK_POLL = 0.05


class LockTimeoutError(Exception):
    """A cache lock could not be acquired within its blocking timeout."""


class Cache(Protocol):
    """The shared-state operations the product needs; all keys expire."""

    async def get(self, key: str) -> str | None:
        """Return the value, or None when missing or expired."""
        ...

    async def set(self, key: str, value: str, ttl: float) -> None:
        """Store a value that expires after `ttl` seconds."""
        ...

    async def set_nx(self, key: str, value: str, ttl: float) -> bool:
        """Store only if absent; True when this call stored it."""
        ...

    async def delete(self, key: str) -> None:
        """Remove a key (no error when missing)."""
        ...

    async def exists(self, key: str) -> bool:
        """True when the key is present and not expired."""
        ...

    async def incr(self, key: str, ttl: float) -> int:
        """Increment a counter; the first increment starts its `ttl` window."""
        ...

    def lock(
        self, key: str, timeout: float, blocking_timeout: float
    ) -> AbstractAsyncContextManager[None]:
        """Mutual exclusion held at most `timeout` s; LockTimeoutError after `blocking_timeout`."""
        ...

    async def publish(self, channel: str, message: str) -> None:
        """Send a message to every current subscriber of `channel`."""
        ...

    def subscribe(self, channel: str) -> AsyncGenerator[str, None]:
        """Yield messages published to `channel` from the first iteration on; aclose() ends it."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class _LockEntry:
    """An asyncio lock plus how many tasks hold or wait for it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


def _check_ttl(ttl: float) -> None:
    if not ttl > 0:
        raise ValueError(f"ttl must be positive, got {ttl!r}")


class MemoryCache:
    """In-process implementation for a single worker (the embedded default and unit tests)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, _LockEntry] = {}
        self._channels: dict[str, set[asyncio.Queue[str]]] = {}
        self._writes = 0

    def _live(self, key: str) -> tuple[str, float] | None:
        item = self._data.get(key)
        if item is not None and item[1] <= time.monotonic():
            del self._data[key]
            return None
        return item

    def _store(self, key: str, value: str, ttl: float) -> None:
        self._data[key] = (value, time.monotonic() + ttl)
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            now = time.monotonic()
            for k in [k for k, (_, exp) in self._data.items() if exp <= now]:
                del self._data[k]

    async def get(self, key: str) -> str | None:
        """Return the value, or None when missing or expired."""
        item = self._live(key)
        return None if item is None else item[0]

    async def set(self, key: str, value: str, ttl: float) -> None:
        """Store a value that expires after `ttl` seconds."""
        _check_ttl(ttl)
        self._store(key, value, ttl)

    async def set_nx(self, key: str, value: str, ttl: float) -> bool:
        """Store only if absent; True when this call stored it."""
        _check_ttl(ttl)
        if self._live(key) is not None:
            return False
        self._store(key, value, ttl)
        return True

    async def delete(self, key: str) -> None:
        """Remove a key (no error when missing)."""
        self._data.pop(key, None)

    async def exists(self, key: str) -> bool:
        """True when the key is present and not expired."""
        return self._live(key) is not None

    async def incr(self, key: str, ttl: float) -> int:
        """Increment a counter; the first increment starts its `ttl` window."""
        _check_ttl(ttl)
        item = self._live(key)
        if item is None:
            self._store(key, "1", ttl)
            return 1
        value = int(item[0]) + 1
        self._data[key] = (str(value), item[1])  # keep the window's original expiry
        return value

    def lock(
        self, key: str, timeout: float, blocking_timeout: float
    ) -> AbstractAsyncContextManager[None]:
        """Per-key asyncio lock; `timeout` is moot in-process (the holder always releases)."""
        return self._locked(key, blocking_timeout)

    @contextlib.asynccontextmanager
    async def _locked(self, key: str, wait: float) -> AsyncIterator[None]:
        entry = self._locks.setdefault(key, _LockEntry())
        entry.users += 1
        try:
            acquired = False
            try:
                async with asyncio.timeout(wait):
                    acquired = await entry.lock.acquire()
            except TimeoutError:
                if acquired:  # the timer fired just after acquiring: give it back
                    entry.lock.release()
                raise LockTimeoutError(key) from None
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            entry.users -= 1
            # Forget a lock nobody holds or waits for, so one-off keys do not accumulate.
            if entry.users == 0 and self._locks.get(key) is entry:
                del self._locks[key]

    async def publish(self, channel: str, message: str) -> None:
        """Send a message to every current subscriber of `channel`."""
        for queue in self._channels.get(channel, ()):
            queue.put_nowait(message)

    async def subscribe(self, channel: str) -> AsyncGenerator[str, None]:
        """Yield messages published to `channel` from the first iteration on."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._channels.setdefault(channel, set()).add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            subscribers = self._channels.get(channel)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._channels[channel]

    async def close(self) -> None:
        """Drop all state."""
        self._data.clear()
        self._locks.clear()


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(ttl: float) -> int:
    _check_ttl(ttl)
    return max(1, round(ttl * 1000))


class RedisCache:
    """Redis implementation shared by every worker (with `REDIS_URL`)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def get(self, key: str) -> str | None:
        """Return the value, or None when missing or expired."""
        value = await self._redis.get(key)
        return None if value is None else _text(value)

    async def set(self, key: str, value: str, ttl: float) -> None:
        """Store a value that expires after `ttl` seconds."""
        await self._redis.set(key, value, px=_ms(ttl))

    async def set_nx(self, key: str, value: str, ttl: float) -> bool:
        """Store only if absent; True when this call stored it."""
        return bool(await self._redis.set(key, value, px=_ms(ttl), nx=True))

    async def delete(self, key: str) -> None:
        """Remove a key (no error when missing)."""
        await self._redis.delete(key)

    async def exists(self, key: str) -> bool:
        """True when the key is present and not expired."""
        return bool(await self._redis.exists(key))

    async def incr(self, key: str, ttl: float) -> int:
        """Increment a counter; the first increment starts its `ttl` window."""
        # MULTI: create with the TTL only when absent, then INCR (which keeps the TTL).
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, px=_ms(ttl), nx=True)
            pipe.incr(key)
            _, value = await pipe.execute()
        return int(value)

    def lock(
        self, key: str, timeout: float, blocking_timeout: float
    ) -> AbstractAsyncContextManager[None]:
        """redis-py Lock: auto-expires after `timeout` s so a dead worker cannot wedge it."""
        return self._locked(key, timeout, blocking_timeout)

    @contextlib.asynccontextmanager
    async def _locked(self, key: str, hold: float, wait: float) -> AsyncIterator[None]:
        lock = self._redis.lock(
            key, timeout=hold, sleep=_REDIS_LOCK_POLL, blocking_timeout=wait, thread_local=False
        )
        if not await lock.acquire():
            raise LockTimeoutError(key)
        try:
            yield
        finally:
            try:
                await lock.release()
            except LockError:
                # The lock expired while held; another worker may already own it.
                logger.warning("cache lock %s expired before release", key)

    async def publish(self, channel: str, message: str) -> None:
        """Send a message to every current subscriber of `channel`."""
        await self._redis.publish(channel, message)

    async def subscribe(self, channel: str) -> AsyncGenerator[str, None]:
        """Yield messages published to `channel` from the first iteration on."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield _text(item["data"])
        finally:
            with contextlib.suppress(Exception):  # the connection may already be gone
                await pubsub.unsubscribe(channel)
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


async def open_cache(redis_url: str | None) -> Cache:
    """Return a RedisCache for `redis_url` (checked with PING), else a MemoryCache."""
    if not redis_url:
        return MemoryCache()
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await client.ping()
    except Exception:
        await client.aclose()
        raise
    return RedisCache(client)
