"""WeCom REST transport: shared access token, single-flight refresh, bounded retries."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from bot.core import db
from bot.core.cache import Cache, LockTimeoutError
from bot.core.clock import Clock
from bot.core.errors import WeComError

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
Sleep = Callable[[float], Awaitable[None]]

# Token problems: invalid / expired / missing access_token -> refresh once, retry once.
TOKEN_ERRCODES = frozenset({40014, 42001, 41001})
# System busy, API frequency, API concurrency -> bounded back-off.
BUSY_ERRCODES = frozenset({-1, 45009, 45033})
# Our own errcode for a call that could not be made (connection, timeout, non-JSON answer).
NETWORK_ERRCODE = -2
# Refresh this long before WeCom's expiry (wecom-reference §6: 60-300 s).
EXPIRY_MARGIN = 300


def _sha12(value: str) -> str:
    return hashlib.sha1(value.encode()).hexdigest()[:12]


def token_key(corp_id: str, secret: str) -> str:
    """Cache key of the access token for one (corp, secret); the secret only as a hash."""
    return f"wecom:token:{corp_id}:{_sha12(secret)}"


def jsapi_ticket_key(corp_id: str, secret: str) -> str:
    """Cache key of the corp JS-SDK ticket (wx.config)."""
    return f"wecom:jsticket:{corp_id}:{_sha12(secret)}"


def agent_ticket_key(corp_id: str, agent_id: int, secret: str) -> str:
    """Cache key of the app JS-SDK ticket (wx.agentConfig)."""
    return f"wecom:agentticket:{corp_id}:{agent_id}:{_sha12(secret)}"


def _lock_key(key: str) -> str:
    # wecom:token:{corp}:{hash} -> wecom:token-lock:{corp}:{hash}
    prefix, kind, rest = key.split(":", 2)
    return f"{prefix}:{kind}-lock:{rest}"


def cache_ttl(expires_in: int) -> float:
    """TTL for a token/ticket: expires_in - 300, or half its life when that is short."""
    return float(expires_in - EXPIRY_MARGIN) if expires_in > 2 * EXPIRY_MARGIN else expires_in / 2


def jsapi_signature(ticket: str, noncestr: str, timestamp: str | int, url: str) -> str:
    """JS-SDK signature for wx.config / wx.agentConfig (§8.2); the #fragment is dropped."""
    page = url.split("#", 1)[0]
    raw = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={page}"
    return hashlib.sha1(raw.encode()).hexdigest()


class TransactionalCallError(RuntimeError):
    """A WeCom call was made while the task held a database transaction (a bug).

    The call could take seconds; meanwhile the transaction would hold its connection (on
    SQLite, the only one) and its locks. Effects go through the outbox; reads happen first.
    """


class WeComTransport:
    """Token, tickets and the HTTP exchange with retries; the typed calls live in WeComClient."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        cache: Cache,
        *,
        base_url: str,
        corp_id: str,
        secret: str,
        agent_id: int,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
    ) -> None:
        self._session = session
        self._cache = cache
        self._base = base_url.rstrip("/") + "/cgi-bin/"
        self.corp_id = corp_id
        self._secret = secret
        self.agent_id = agent_id
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._lock_hold = 2 * timeout + 5  # outlives one gettoken with its retries
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self.clock = clock or Clock()
        self._local_locks: dict[str, asyncio.Lock] = {}
        self._token_key = token_key(corp_id, secret)

    # ----------------------------------------------------------------- token and tickets

    async def access_token(self) -> str:
        """The cached access token, fetched once (single-flight) when missing."""
        return await self._cached(self._token_key, self._fetch_token)

    async def _fetch_token(self) -> tuple[str, int]:
        params = {"corpid": self.corp_id, "corpsecret": self._secret}
        data = await self._call("GET", "gettoken", params=params, auth=False)
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    async def _cached(
        self, key: str, fetch: Callable[[], Awaitable[tuple[str, int]]], stale: str | None = None
    ) -> str:
        """Read `key`; on a miss (or when it still holds `stale`) fetch once across workers."""
        value = await self._cache.get(key)
        if value and value != stale:
            return value
        local = self._local_locks.setdefault(key, asyncio.Lock())
        async with local:
            value = await self._cache.get(key)
            if value and value != stale:
                return value
            lock_key = _lock_key(key)
            try:
                async with self._cache.lock(lock_key, self._lock_hold, self._lock_hold):
                    return await self._refill(key, fetch, stale)
            except LockTimeoutError:
                # Another worker is stuck holding the lock; better one extra fetch than none.
                logger.warning("wecom: lock %s busy, fetching without it", lock_key)
                return await self._refill(key, fetch, stale)

    async def _refill(
        self, key: str, fetch: Callable[[], Awaitable[tuple[str, int]]], stale: str | None
    ) -> str:
        value = await self._cache.get(key)  # another worker may have refilled it meanwhile
        if value and value != stale:
            return value
        value, expires_in = await fetch()
        await self._cache.set(key, value, cache_ttl(expires_in))
        return value

    async def get_jsapi_ticket(self) -> str:
        """Corp JS-SDK ticket for wx.config, cached until shortly before expiry."""

        async def fetch() -> tuple[str, int]:
            data = await self.get("get_jsapi_ticket")
            return str(data["ticket"]), int(data.get("expires_in", 7200))

        return await self._cached(jsapi_ticket_key(self.corp_id, self._secret), fetch)

    async def get_agent_ticket(self) -> str:
        """App JS-SDK ticket for wx.agentConfig, cached until shortly before expiry."""

        async def fetch() -> tuple[str, int]:
            data = await self.get("ticket/get", type="agent_config")
            return str(data["ticket"]), int(data.get("expires_in", 7200))

        key = agent_ticket_key(self.corp_id, self.agent_id, self._secret)
        return await self._cached(key, fetch)

    # ----------------------------------------------------------------- transport

    async def get(self, path: str, **params: str | int) -> JSON:
        """GET /cgi-bin/{path} with the access token; WeComError on a non-zero errcode."""
        return await self._call("GET", path, params={k: str(v) for k, v in params.items()})

    async def post(self, path: str, json: Mapping[str, Any], *, retry: bool = True) -> JSON:
        """POST JSON to /cgi-bin/{path} with the access token; WeComError on failure.

        retry=False makes one attempt at busy and network errors (the token is still
        refreshed once): the outbox retries effects itself, with longer back-off.
        """
        return await self._call("POST", path, json=json, retries=None if retry else 0)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
        auth: bool = True,
        retries: int | None = None,
    ) -> JSON:
        if db.in_transaction():
            raise TransactionalCallError(f"WeCom {path} called inside a database transaction")
        budget = self._retries if retries is None else retries
        token_retried = False
        attempt = 0  # busy and network retries share one budget
        while True:
            query = dict(params or {})
            token = ""
            if auth:
                token = await self.access_token()
                query["access_token"] = token
            try:
                data = await self._send(method, path, query, json)
            except WeComError as exc:
                if attempt < budget:
                    attempt += 1
                    logger.warning("wecom %s: %s, retry %d", path, exc.errmsg, attempt)
                    await self._pause(attempt)
                    continue
                raise
            errcode = int(data.get("errcode") or 0)
            if errcode == 0:
                return data
            if auth and errcode in TOKEN_ERRCODES and not token_retried:
                token_retried = True
                logger.warning("wecom %s: errcode %d, refreshing token", path, errcode)
                await self._cached(self._token_key, self._fetch_token, stale=token)
                continue
            if errcode in BUSY_ERRCODES and attempt < budget:
                attempt += 1
                logger.warning("wecom %s: errcode %d, retry %d", path, errcode, attempt)
                await self._pause(attempt)
                continue
            raise WeComError(errcode, str(data.get("errmsg", "")), path)

    async def _pause(self, attempt: int) -> None:
        await self._sleep(min(self._backoff * 2 ** (attempt - 1), 5.0))

    async def _send(
        self, method: str, path: str, query: Mapping[str, str], json: Mapping[str, Any] | None
    ) -> JSON:
        """One HTTP exchange; transport failures become WeComError(-2) without the URL."""
        try:
            async with self._session.request(
                method, self._base + path, params=query, json=json, timeout=self._timeout
            ) as resp:
                if resp.status != 200:
                    raise WeComError(NETWORK_ERRCODE, f"network: HTTP {resp.status}", path)
                data = await resp.json(content_type=None)
        except TimeoutError:
            raise WeComError(NETWORK_ERRCODE, "network: timeout", path) from None
        # Never put str(exc) in the message: aiohttp's includes the URL, i.e. the token.
        except (aiohttp.ClientError, ValueError) as exc:
            # from None: aiohttp's errors can carry the request URL, i.e. the access token,
            # and a chained cause would print it in any logged traceback.
            raise WeComError(NETWORK_ERRCODE, f"network: {type(exc).__name__}", path) from None
        if not isinstance(data, dict):
            raise WeComError(NETWORK_ERRCODE, "network: answer is not a JSON object", path)
        return data
