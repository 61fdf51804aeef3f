"""One suite for both Cache implementations; the Redis run uses a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.core.cache import Cache, LockTimeoutError, MemoryCache, RedisCache, open_cache


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    """A fresh cache of each kind."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    c = await open_cache(url)
    yield c
    await c.close()


@pytest.fixture
def key() -> str:
    """A key no other test (or a reused Redis) has touched."""
    return f"test:{uuid.uuid4().hex}"


async def test_set_get_and_expiry(cache: Cache, key: str) -> None:
    assert await cache.get(key) is None
    await cache.set(key, "v", ttl=0.3)
    assert await cache.get(key) == "v"
    assert await cache.exists(key)
    await asyncio.sleep(0.45)
    assert await cache.get(key) is None
    assert not await cache.exists(key)


async def test_set_nx(cache: Cache, key: str) -> None:
    assert await cache.set_nx(key, "first", ttl=0.3)
    assert not await cache.set_nx(key, "second", ttl=0.3)
    assert await cache.get(key) == "first"
    await asyncio.sleep(0.45)
    assert await cache.set_nx(key, "third", ttl=5)
    assert await cache.get(key) == "third"


async def test_delete(cache: Cache, key: str) -> None:
    await cache.set(key, "v", ttl=5)
    await cache.delete(key)
    await cache.delete(key)  # missing is fine
    assert await cache.get(key) is None


async def test_incr_window(cache: Cache, key: str) -> None:
    assert [await cache.incr(key, ttl=0.4) for _ in range(3)] == [1, 2, 3]
    await asyncio.sleep(0.25)
    assert await cache.incr(key, ttl=0.4) == 4  # later increments keep the first window
    await asyncio.sleep(0.3)
    assert await cache.incr(key, ttl=0.4) == 1


@pytest.mark.parametrize("ttl", [0, -1])
async def test_ttl_must_be_positive(cache: Cache, key: str, ttl: float) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await cache.set(key, "v", ttl=ttl)
    with pytest.raises(ValueError, match="ttl"):
        await cache.incr(key, ttl=ttl)


async def test_lock_excludes(cache: Cache, key: str) -> None:
    inside = 0
    peak = 0

    async def worker() -> None:
        nonlocal inside, peak
        async with cache.lock(key, timeout=5, blocking_timeout=5):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(worker() for _ in range(10)))
    assert peak == 1


async def test_lock_blocking_timeout(cache: Cache, key: str) -> None:
    async with cache.lock(key, timeout=5, blocking_timeout=1):
        with pytest.raises(LockTimeoutError):
            async with cache.lock(key, timeout=5, blocking_timeout=0.2):
                pytest.fail("acquired a held lock")
    # Released on exit: acquirable again, also after an exception inside.
    with pytest.raises(RuntimeError):
        async with cache.lock(key, timeout=5, blocking_timeout=1):
            raise RuntimeError("boom")
    async with cache.lock(key, timeout=5, blocking_timeout=0.2):
        pass


async def _drain(sub: AsyncIterator[str], into: list[str], stop: str) -> None:
    async for message in sub:
        into.append(message)
        if message == stop:
            return


async def _until_subscribed(cache: Cache, channel: str, got: list[str]) -> None:
    # Subscription starts on the first iteration; ping until each subscriber saw a ping.
    async with asyncio.timeout(5):
        while "ping" not in got:
            await cache.publish(channel, "ping")
            await asyncio.sleep(0.02)


async def test_pubsub_fan_out(cache: Cache, key: str) -> None:
    got_a: list[str] = []
    got_b: list[str] = []
    sub_a, sub_b = cache.subscribe(key), cache.subscribe(key)
    tasks = [
        asyncio.create_task(_drain(sub_a, got_a, "end")),
        asyncio.create_task(_drain(sub_b, got_b, "end")),
    ]
    await _until_subscribed(cache, key, got_a)
    await _until_subscribed(cache, key, got_b)
    for message in ["one", "二", "end"]:
        await cache.publish(key, message)
    async with asyncio.timeout(5):
        await asyncio.gather(*tasks)
    for got in (got_a, got_b):
        assert [m for m in got if m != "ping"] == ["one", "二", "end"]
    await sub_a.aclose()
    await sub_b.aclose()


async def test_subscribe_cleans_up_on_close(cache: Cache, key: str) -> None:
    got: list[str] = []
    sub = cache.subscribe(key)
    task = asyncio.create_task(_drain(sub, got, "never"))
    await _until_subscribed(cache, key, got)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await sub.aclose()
    if isinstance(cache, MemoryCache):
        assert key not in cache._channels
    else:
        assert isinstance(cache, RedisCache)
        counts = await cache._redis.pubsub_numsub(key)
        assert counts == [(key, 0)]


async def test_open_cache_kinds(redis_url: str) -> None:
    memory = await open_cache(None)
    assert isinstance(memory, MemoryCache)
    shared = await open_cache(redis_url)
    assert isinstance(shared, RedisCache)
    await shared.close()
    with pytest.raises(aioredis.ConnectionError):
        await open_cache("redis://127.0.0.1:1/0")


async def test_redis_keys_always_expire(redis_url: str, key: str) -> None:
    cache = await open_cache(redis_url)
    raw = aioredis.Redis.from_url(redis_url)
    try:
        await cache.set(key + ":a", "v", ttl=30)
        await cache.set_nx(key + ":b", "v", ttl=30)
        await cache.incr(key + ":c", ttl=30)
        await cache.incr(key + ":c", ttl=30)
        for suffix in ("a", "b", "c"):
            assert 0 < await raw.pttl(f"{key}:{suffix}") <= 30_000
        async with cache.lock(key + ":lock", timeout=30, blocking_timeout=1):
            assert 0 < await raw.pttl(key + ":lock") <= 30_000
        assert not await raw.exists(key + ":lock")
    finally:
        await raw.aclose()
        await cache.close()


async def test_redis_lock_expires_if_holder_dies(redis_url: str, key: str) -> None:
    cache = await open_cache(redis_url)
    try:
        # A second worker gets the lock once the first holder's lease ran out.
        async with (
            cache.lock(key, timeout=0.3, blocking_timeout=1),
            cache.lock(key, timeout=5, blocking_timeout=2),
        ):
            pass
    finally:
        await cache.close()
