"""Async WeCom REST client: shared access token, single-flight refresh, bounded retries."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp

from bot.cache import Cache, LockTimeoutError
from bot.errors import WeComError

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
Sleep = Callable[[float], Awaitable[None]]

# Token problems: invalid / expired / missing access_token -> refresh once, retry once.
TOKEN_ERRCODES = frozenset({40014, 42001, 41001})
# System busy, API frequency, API concurrency -> bounded back-off.
BUSY_ERRCODES = frozenset({-1, 45009, 45033})
# Our own errcode for a call that could not be made (connection, timeout, non-JSON answer).
NETWORK_ERRCODE = -2
# Our own code: WeCom silently drops app messages past 30 a minute to one member (§7.1), so
# the client refuses them first, visibly, counting in the shared cache across workers.
RATE_LIMITED_ERRCODE = -3
MEMBER_MESSAGES_PER_MINUTE = 30
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


def _given(**fields: Any) -> JSON:
    # Optional request fields are left out rather than sent as null.
    return {k: v for k, v in fields.items() if v is not None}


def _users(touser: str | Sequence[str]) -> str:
    return touser if isinstance(touser, str) else "|".join(touser)


class WeComClient:
    """One corp app's API client over a shared aiohttp session and a shared Cache."""

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

    async def post(self, path: str, json: Mapping[str, Any]) -> JSON:
        """POST JSON to /cgi-bin/{path} with the access token; WeComError on failure."""
        return await self._call("POST", path, json=json)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
        auth: bool = True,
    ) -> JSON:
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
                if attempt < self._retries:
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
            if errcode in BUSY_ERRCODES and attempt < self._retries:
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
        except TimeoutError as exc:
            raise WeComError(NETWORK_ERRCODE, "network: timeout", path) from exc
        # Never put str(exc) in the message: aiohttp's includes the URL, i.e. the token.
        except (aiohttp.ClientError, ValueError) as exc:
            raise WeComError(NETWORK_ERRCODE, f"network: {type(exc).__name__}", path) from exc
        if not isinstance(data, dict):
            raise WeComError(NETWORK_ERRCODE, "network: answer is not a JSON object", path)
        return data

    # ----------------------------------------------------------------- app messages (§7.1)

    async def _send_app(self, touser: str | Sequence[str], msgtype: str, body: JSON) -> JSON:
        users = _users(touser)
        await self._check_member_rate(users)
        payload = {"touser": users, "msgtype": msgtype, "agentid": self.agent_id}
        return await self.post("message/send", {**payload, msgtype: body})

    async def _check_member_rate(self, users: str) -> None:
        if users == "@all":
            return
        for user in users.split("|"):
            key = f"wecom:rate:msg:{self.agent_id}:{user}"
            if await self._cache.incr(key, 60) > MEMBER_MESSAGES_PER_MINUTE:
                raise WeComError(
                    RATE_LIMITED_ERRCODE,
                    f"rate limited: over {MEMBER_MESSAGES_PER_MINUTE} app messages a minute",
                    "message/send",
                )

    async def send_text(self, touser: str | Sequence[str], content: str) -> JSON:
        """App text message to members (list or "a|b" or "@all")."""
        return await self._send_app(touser, "text", {"content": content})

    async def send_markdown(self, touser: str | Sequence[str], content: str) -> JSON:
        """App markdown message to members."""
        return await self._send_app(touser, "markdown", {"content": content})

    async def send_textcard(
        self,
        touser: str | Sequence[str],
        title: str,
        description: str,
        url: str,
        btntxt: str = "详情",
    ) -> JSON:
        """App text-card message (title, description, link) to members."""
        card = {"title": title, "description": description, "url": url, "btntxt": btntxt}
        return await self._send_app(touser, "textcard", card)

    # ----------------------------------------------------------------- external contacts (§4)

    async def get_external_contact(self, external_userid: str, cursor: str = "") -> JSON:
        """Customer detail with its follow_user list."""
        params = _given(external_userid=external_userid, cursor=cursor or None)
        return await self.get("externalcontact/get", **params)

    async def batch_get_by_user(
        self, userids: Sequence[str], cursor: str = "", limit: int = 50
    ) -> JSON:
        """Customers of up to 100 members, paged by next_cursor."""
        body = {"userid_list": list(userids), "cursor": cursor, "limit": limit}
        return await self.post("externalcontact/batch/get_by_user", body)

    async def send_welcome_msg(
        self, welcome_code: str, text: str | None = None, attachments: Sequence[JSON] = ()
    ) -> JSON:
        """Welcome message for a new customer (code valid 20 s, single use)."""
        body = _given(
            welcome_code=welcome_code,
            text={"content": text} if text else None,
            attachments=list(attachments) or None,
        )
        return await self.post("externalcontact/send_welcome_msg", body)

    async def get_corp_tag_list(
        self, tag_ids: Sequence[str] = (), group_ids: Sequence[str] = ()
    ) -> JSON:
        """The corp tag library (everything when both filters are empty)."""
        body = {"tag_id": list(tag_ids), "group_id": list(group_ids)}
        return await self.post("externalcontact/get_corp_tag_list", body)

    async def add_corp_tag(
        self, group_name: str, tags: Sequence[str], group_id: str | None = None
    ) -> JSON:
        """Create tags in a group (found by id, else by name, else created)."""
        body = _given(
            group_id=group_id or None,
            group_name=group_name,
            tag=[{"name": name} for name in tags],
            agentid=self.agent_id,
        )
        return await self.post("externalcontact/add_corp_tag", body)

    async def mark_tag(
        self,
        userid: str,
        external_userid: str,
        add_tag: Sequence[str] = (),
        remove_tag: Sequence[str] = (),
    ) -> JSON:
        """Add/remove corp tags on one member's customer."""
        body: JSON = {"userid": userid, "external_userid": external_userid}
        body |= {"add_tag": list(add_tag), "remove_tag": list(remove_tag)}
        return await self.post("externalcontact/mark_tag", body)

    async def remark(
        self, userid: str, external_userid: str, remark: str, description: str | None = None
    ) -> JSON:
        """Set a member's remark (and description) for a customer."""
        body = _given(
            userid=userid, external_userid=external_userid, remark=remark, description=description
        )
        return await self.post("externalcontact/remark", body)

    async def transfer_customer(
        self,
        handover_userid: str,
        takeover_userid: str,
        external_userids: Sequence[str],
        msg: str | None = None,
    ) -> JSON:
        """在职继承: hand up to 100 customers to another member."""
        body = _given(
            handover_userid=handover_userid,
            takeover_userid=takeover_userid,
            external_userid=list(external_userids),
            transfer_success_msg=msg or None,
        )
        return await self.post("externalcontact/transfer_customer", body)

    async def resigned_transfer_customer(
        self, handover_userid: str, takeover_userid: str, external_userids: Sequence[str]
    ) -> JSON:
        """离职继承: hand a departed member's customers to another member."""
        body: JSON = {"handover_userid": handover_userid, "takeover_userid": takeover_userid}
        body["external_userid"] = list(external_userids)
        return await self.post("externalcontact/resigned/transfer_customer", body)

    # ----------------------------------------------------------------- 微信客服 kf (§5)

    async def kf_sync_msg(
        self, token: str | None, open_kfid: str, cursor: str = "", limit: int = 1000
    ) -> JSON:
        """Pull kf messages after `cursor` (token from the kf_msg_or_event callback)."""
        body = _given(cursor=cursor, open_kfid=open_kfid, limit=limit, token=token or None)
        return await self.post("kf/sync_msg", body)

    async def kf_send_msg(
        self, touser: str, open_kfid: str, msgtype: str, content: Mapping[str, Any]
    ) -> JSON:
        """Send a kf message, e.g. msgtype "text" with content {"content": "..."}."""
        body = {"touser": touser, "open_kfid": open_kfid, "msgtype": msgtype, msgtype: content}
        return await self.post("kf/send_msg", body)

    async def kf_send_msg_on_event(
        self, code: str, msgtype: str, content: Mapping[str, Any]
    ) -> JSON:
        """Send the one message an event code (welcome_code / msg_code) allows."""
        body = {"code": code, "msgtype": msgtype, msgtype: content}
        return await self.post("kf/send_msg_on_event", body)

    async def kf_service_state_get(self, open_kfid: str, external_userid: str) -> JSON:
        """Session state (0-4) and servicer of one kf conversation."""
        body = {"open_kfid": open_kfid, "external_userid": external_userid}
        return await self.post("kf/service_state/get", body)

    async def kf_service_state_trans(
        self,
        open_kfid: str,
        external_userid: str,
        service_state: int,
        servicer_userid: str | None = None,
    ) -> JSON:
        """Move a kf conversation to another state (3 needs a servicer)."""
        body = _given(
            open_kfid=open_kfid,
            external_userid=external_userid,
            service_state=service_state,
            servicer_userid=servicer_userid or None,
        )
        return await self.post("kf/service_state/trans", body)

    async def groupchat_get(self, chat_id: str) -> JSON:
        """A customer group's name, owner and member_list (type 1 member, 2 external)."""
        body = {"chat_id": chat_id, "need_name": 1}
        return await self.post("externalcontact/groupchat/get", body)

    # ----------------------------------------------------------------- OAuth and group robot

    async def auth_getuserinfo(self, code: str) -> JSON:
        """Resolve an OAuth code: members get `userid`, others `openid`/`external_userid`."""
        return await self.get("auth/getuserinfo", code=code)

    async def webhook_send(self, key: str, payload: Mapping[str, Any]) -> JSON:
        """Post to a group robot (no access token; the key is the credential)."""
        params = {"key": key}
        return await self._call("POST", "webhook/send", params=params, json=payload, auth=False)
