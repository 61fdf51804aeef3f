"""Async WeCom REST client: one typed method per API call the product makes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from aiohttp import web

from bot.core.errors import WeComError
from bot.core.keys import CACHE, CLOCK, HTTP, SETTINGS, WECOM
from bot.wecom.transport import (
    BUSY_ERRCODES,
    JSON,
    NETWORK_ERRCODE,
    TOKEN_ERRCODES,
    WeComTransport,
    agent_ticket_key,
    cache_ttl,
    jsapi_signature,
    jsapi_ticket_key,
    token_key,
)

__all__ = [
    "BUSY_ERRCODES",
    "JSON",
    "MEMBER_MESSAGES_PER_MINUTE",
    "NETWORK_ERRCODE",
    "RATE_LIMITED_ERRCODE",
    "TOKEN_ERRCODES",
    "WeComClient",
    "agent_ticket_key",
    "cache_ttl",
    "jsapi_signature",
    "jsapi_ticket_key",
    "token_key",
]

# Our own code: WeCom silently drops app messages past 30 a minute to one member (§7.1), so
# the client refuses them first, visibly, counting in the shared cache across workers.
RATE_LIMITED_ERRCODE = -3
MEMBER_MESSAGES_PER_MINUTE = 30
# message/send's duplicate check window (seconds; WeCom allows up to 4 h).
DEDUP_WINDOW = 4 * 3600


def _given(**fields: Any) -> JSON:
    # Optional request fields are left out rather than sent as null.
    return {k: v for k, v in fields.items() if v is not None}


def _users(touser: str | Sequence[str]) -> str:
    return touser if isinstance(touser, str) else "|".join(touser)


class WeComClient(WeComTransport):
    """One corp app's API client over a shared aiohttp session and a shared Cache."""

    # ----------------------------------------------------------------- app messages (§7.1)

    async def send_app(
        self,
        touser: str | Sequence[str],
        msgtype: str,
        body: Mapping[str, Any],
        *,
        dedup: bool = False,
        retry: bool = True,
    ) -> JSON:
        """App message to members ("a|b", a list, or "@all"), e.g. msgtype "text" {"content"}.

        dedup asks WeCom to drop the same content to the same member within DEDUP_WINDOW
        seconds, so that a resend after a crash does not show twice.
        """
        users = _users(touser)
        await self._check_member_rate(users)
        payload: JSON = {"touser": users, "msgtype": msgtype, "agentid": self.agent_id}
        payload[msgtype] = dict(body)
        if dedup:
            payload |= {"enable_duplicate_check": 1, "duplicate_check_interval": DEDUP_WINDOW}
        return await self.post("message/send", payload, retry=retry)

    async def _check_member_rate(self, users: str) -> None:
        if users == "@all":
            return
        window = int(self.clock.timestamp() // 60)
        for user in users.split("|"):
            key = f"wecom:rate:msg:{self.agent_id}:{user}:{window}"
            if await self._cache.incr(key, 120) > MEMBER_MESSAGES_PER_MINUTE:
                raise WeComError(
                    RATE_LIMITED_ERRCODE,
                    f"rate limited: over {MEMBER_MESSAGES_PER_MINUTE} app messages a minute",
                    "message/send",
                )

    async def send_text(self, touser: str | Sequence[str], content: str) -> JSON:
        """App text message to members (list or "a|b" or "@all")."""
        return await self.send_app(touser, "text", {"content": content})

    async def send_markdown(self, touser: str | Sequence[str], content: str) -> JSON:
        """App markdown message to members."""
        return await self.send_app(touser, "markdown", {"content": content})

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
        return await self.send_app(touser, "textcard", card)

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
        self,
        welcome_code: str,
        text: str | None = None,
        attachments: Sequence[JSON] = (),
        *,
        retry: bool = True,
    ) -> JSON:
        """Welcome message for a new customer (code valid 20 s, single use)."""
        body = _given(
            welcome_code=welcome_code,
            text={"content": text} if text else None,
            attachments=list(attachments) or None,
        )
        return await self.post("externalcontact/send_welcome_msg", body, retry=retry)

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
        *,
        retry: bool = True,
    ) -> JSON:
        """Add/remove corp tags on one member's customer."""
        body: JSON = {"userid": userid, "external_userid": external_userid}
        body |= {"add_tag": list(add_tag), "remove_tag": list(remove_tag)}
        return await self.post("externalcontact/mark_tag", body, retry=retry)

    async def remark(
        self,
        userid: str,
        external_userid: str,
        remark: str,
        description: str | None = None,
        *,
        retry: bool = True,
    ) -> JSON:
        """Set a member's remark (and description) for a customer."""
        body = _given(
            userid=userid, external_userid=external_userid, remark=remark, description=description
        )
        return await self.post("externalcontact/remark", body, retry=retry)

    async def transfer_customer(
        self,
        handover_userid: str,
        takeover_userid: str,
        external_userids: Sequence[str],
        msg: str | None = None,
        *,
        retry: bool = True,
    ) -> JSON:
        """在职继承: hand up to 100 customers to another member."""
        body = _given(
            handover_userid=handover_userid,
            takeover_userid=takeover_userid,
            external_userid=list(external_userids),
            transfer_success_msg=msg or None,
        )
        return await self.post("externalcontact/transfer_customer", body, retry=retry)

    async def resigned_transfer_customer(
        self,
        handover_userid: str,
        takeover_userid: str,
        external_userids: Sequence[str],
        *,
        retry: bool = True,
    ) -> JSON:
        """离职继承: hand a departed member's customers to another member."""
        body: JSON = {"handover_userid": handover_userid, "takeover_userid": takeover_userid}
        body["external_userid"] = list(external_userids)
        return await self.post("externalcontact/resigned/transfer_customer", body, retry=retry)

    # ----------------------------------------------------------------- 微信客服 kf (§5)

    async def kf_sync_msg(
        self, token: str | None, open_kfid: str, cursor: str = "", limit: int = 1000
    ) -> JSON:
        """Pull kf messages after `cursor` (token from the kf_msg_or_event callback)."""
        body = _given(cursor=cursor, open_kfid=open_kfid, limit=limit, token=token or None)
        return await self.post("kf/sync_msg", body)

    async def kf_send_msg(
        self,
        touser: str,
        open_kfid: str,
        msgtype: str,
        content: Mapping[str, Any],
        *,
        msgid: str | None = None,
        retry: bool = True,
    ) -> JSON:
        """Send a kf message, e.g. msgtype "text" with content {"content": "..."}.

        msgid (unique per kf account) makes a resend of the same message recognisable.
        """
        body = _given(touser=touser, open_kfid=open_kfid, msgid=msgid, msgtype=msgtype)
        body[msgtype] = dict(content)
        return await self.post("kf/send_msg", body, retry=retry)

    async def kf_send_msg_on_event(
        self, code: str, msgtype: str, content: Mapping[str, Any], *, retry: bool = True
    ) -> JSON:
        """Send the one message an event code (welcome_code / msg_code) allows."""
        body = {"code": code, "msgtype": msgtype, msgtype: content}
        return await self.post("kf/send_msg_on_event", body, retry=retry)

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
        *,
        retry: bool = True,
    ) -> JSON:
        """Move a kf conversation to another state (3 needs a servicer)."""
        body = _given(
            open_kfid=open_kfid,
            external_userid=external_userid,
            service_state=service_state,
            servicer_userid=servicer_userid or None,
        )
        return await self.post("kf/service_state/trans", body, retry=retry)

    async def kf_account_list(self, offset: int = 0, limit: int = 100) -> JSON:
        """account_list[{open_kfid, name, avatar, manage_privilege}] of the corp's kf accounts."""
        return await self.post("kf/account/list", {"offset": offset, "limit": limit})

    async def kf_customer_batchget(self, external_userids: Sequence[str]) -> JSON:
        """customer_list[{external_userid, nickname, avatar, gender, unionid}] of up to 100
        kf customers (invalid_external_userid lists the unknown ones)."""
        body = {"external_userid_list": list(external_userids)}
        return await self.post("kf/customer/batchget", body)

    async def groupchat_get(self, chat_id: str) -> JSON:
        """A customer group's name, owner and member_list (type 1 member, 2 external)."""
        body = {"chat_id": chat_id, "need_name": 1}
        return await self.post("externalcontact/groupchat/get", body)

    # ----------------------------------------------------------------- members (通讯录)

    async def get_user(self, userid: str) -> JSON:
        """A member: name, department ids, main_department, position, status (user/get)."""
        return await self.get("user/get", userid=userid)

    async def list_departments(self, department_id: int | None = None) -> JSON:
        """department[{id, name, parentid, order}]: one department and all below it, or every
        department in the app's visible range (department/list)."""
        if department_id is None:
            return await self.get("department/list")
        return await self.get("department/list", id=str(department_id))

    async def list_users(self, department_id: int) -> JSON:
        """userlist[]: the members directly in one department, each as user/get answers it
        (user/list with fetch_child=0; sub-departments are listed on their own)."""
        return await self.get("user/list", department_id=str(department_id), fetch_child="0")

    # ----------------------------------------------------------------- OAuth and group robot

    async def auth_getuserinfo(self, code: str) -> JSON:
        """Resolve an OAuth code: members get `userid`, others `openid`/`external_userid`."""
        return await self.get("auth/getuserinfo", code=code)

    async def webhook_send(
        self, key: str, payload: Mapping[str, Any], *, retry: bool = True
    ) -> JSON:
        """Post to a group robot (no access token; the key is the credential)."""
        params = {"key": key}
        return await self._call(
            "POST", "webhook/send", params=params, json=payload, auth=False,
            retries=None if retry else 0,
        )  # fmt: skip

    # ----------------------------------------------------------------- issue 12: console

    async def add_contact_way(
        self, *, type: int, state: str, users: Sequence[str], skip_verify: bool, remark: str = ""
    ) -> JSON:
        """Create a 联系我 QR config (scene 2); `config_id` and `qr_code` come back."""
        body = _given(type=type, scene=2, state=state, user=list(users),
                      skip_verify=skip_verify, remark=remark or None)  # fmt: skip
        return await self.post("externalcontact/add_contact_way", body)

    async def update_contact_way(
        self, config_id: str, *, users: Sequence[str], skip_verify: bool, remark: str = "",
        retry: bool = True,
    ) -> JSON:  # fmt: skip
        """Replace a 联系我 config's members and verification (its state and type stay)."""
        body = _given(config_id=config_id, user=list(users), skip_verify=skip_verify,
                      remark=remark or None)  # fmt: skip
        return await self.post("externalcontact/update_contact_way", body, retry=retry)

    async def get_contact_way(self, config_id: str) -> JSON:
        """A 联系我 config as WeCom has it (contact_way{config_id, type, state, user, qr_code})."""
        return await self.post("externalcontact/get_contact_way", {"config_id": config_id})

    async def del_contact_way(self, config_id: str, *, retry: bool = True) -> JSON:
        """Delete a 联系我 config: its QR code stops working."""
        body = {"config_id": config_id}
        return await self.post("externalcontact/del_contact_way", body, retry=retry)

    async def edit_corp_tag(
        self, tag_or_group_id: str, name: str, *, retry: bool = True
    ) -> JSON:
        """Rename a corp tag or tag group (the same call takes either id)."""
        body = {"id": tag_or_group_id, "name": name}
        return await self.post("externalcontact/edit_corp_tag", body, retry=retry)

    async def del_corp_tag(
        self, tag_ids: Sequence[str] = (), group_ids: Sequence[str] = (), *, retry: bool = True
    ) -> JSON:
        """Delete corp tags and/or whole groups (with their tags)."""
        body = {"tag_id": list(tag_ids), "group_id": list(group_ids)}
        return await self.post("externalcontact/del_corp_tag", body, retry=retry)


async def wecom_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the WeCom API client, on the shared HTTP session and cache."""
    settings = app[SETTINGS]
    app[WECOM] = WeComClient(
        app[HTTP],
        app[CACHE],
        base_url=settings.api_base,
        corp_id=settings.corp_id,
        secret=settings.secret.get_secret_value(),
        agent_id=settings.agent_id,
        clock=app[CLOCK],
    )
    yield
