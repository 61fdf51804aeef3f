"""A fake WeCom: a real aiohttp app serving /cgi-bin/... and originating encrypted callbacks.

Tests serve `fake.app` on a loopback port; sandbox mode mounts it under /sandbox/wecom/, where
`GET /_calls` lists recorded calls and `POST /_events` makes the fake deliver a callback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from bot.sandbox import (
    fake_api,
    fake_archive,
    fake_contact_way,
    fake_events,
    fake_state,
    fake_weblogin,
    fake_xml,
)
from bot.sandbox.fake_state import JSON, FakeApiError, FakeState
from bot.wecom.crypto import CryptoError, EnvelopeError, WeComCrypto, parse_envelope, parse_plain

logger = logging.getLogger(__name__)


def _norm(path: str) -> str:
    """'/cgi-bin/message/send', 'cgi-bin/message/send' and 'message/send' -> 'message/send'."""
    path = path.strip("/")
    return path.removeprefix("cgi-bin/")


class FakeWeCom:
    """WeCom's REST API and callback sender, in memory; see docs/wecom.md."""

    # WeCom gives up after 5 s; the fake waits longer so slow servers show up as slow, not lost.
    callback_timeout = 10.0

    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        token: str,
        aes_key: str,
        agent_id: int,
        callback_url: str | None = None,
        expires_in: int = 7200,
    ) -> None:
        self.state = FakeState(corp_id, secret, agent_id, expires_in)
        self.crypto = WeComCrypto(token, aes_key, corp_id)
        self.callback_url = callback_url
        self.calls: list[JSON] = []
        self._failures: dict[str, deque[int | None]] = {}
        self._delays: dict[str, float] = {}
        self._held: dict[str, int] = {}  # calls sleeping in a delay right now, per path
        self.app = web.Application()
        self.app.router.add_route("*", "/cgi-bin/{path:.+}", self._api)
        self.app.router.add_get("/_calls", self._calls_view)
        self.app.router.add_post("/_events", self._events_view)
        self.app.router.add_post("/_oauth", self._oauth_view)
        self.app.router.add_post("/_groups", self._groups_view)
        self.app.router.add_post("/_mass", self._mass_view)
        self.app.router.add_post("/_faults", self._faults_view)
        self.app.router.add_get("/_faults", self._faults_list)
        fake_weblogin.add_routes(self)  # the web login page (扫码登录) stand-in
        # The chat archive (会话存档), which the real SDK reads from Tencent's servers.
        self.archive = fake_archive.FakeArchive()
        fake_archive.add_routes(self.app, self.archive)
        fake_contact_way.add_routes(self)  # 联系我 QR images

    # ----------------------------------------------------------------- test controls

    @property
    def expires_in(self) -> int:
        """expires_in of tokens and tickets issued from now on."""
        return self.state.expires_in

    @expires_in.setter
    def expires_in(self, seconds: int) -> None:
        self.state.expires_in = seconds

    def expire_tokens(self) -> None:
        """Make every token issued so far answer 42001."""
        for token in self.state.tokens:
            self.state.tokens[token] = 0.0

    def fail_next(self, path: str, errcode: int, times: int = 1, *, after: int = 0) -> None:
        """Answer `times` calls to `path` with `errcode`, once `after` more have succeeded."""
        queued: list[int | None] = [None] * after + [errcode] * times
        self._failures.setdefault(_norm(path), deque()).extend(queued)

    def confirm_mass(self, sender: str) -> int:
        """The member confirms their pending 企业群发 tasks in the client; how many."""
        tasks = [t for t in self.state.mass_tasks.values()
                 if t["sender"] == sender and not t["confirmed"]]  # fmt: skip
        for task in tasks:
            task["confirmed"] = True
        return len(tasks)

    def delay(self, path: str, seconds: float) -> None:
        """Sleep `seconds` before answering each call to `path` (0 turns it off)."""
        self._delays[_norm(path)] = seconds

    def hanging(self, path: str) -> int:
        """How many calls to `path` are held in their delay right now."""
        return self._held.get(_norm(path), 0)

    def clear_faults(self) -> None:
        """Forget every queued failure and delay."""
        self._failures.clear()
        self._delays.clear()

    def calls_to(self, path: str) -> list[JSON]:
        """Recorded calls to one path, oldest first."""
        want = "cgi-bin/" + _norm(path)
        return [c for c in self.calls if c["path"] == want]

    def add_contact(
        self,
        external_userid: str,
        *,
        name: str = "",
        follow_user: Sequence[str | Mapping[str, Any]] = (),
        state: str = "",
        corp_name: str = "",
    ) -> JSON:
        """Create (or extend) a customer followed by the given members; returns its detail."""
        contact = self.state.contacts.setdefault(
            external_userid,
            {
                "external_contact": {
                    "external_userid": external_userid,
                    "name": name or external_userid,
                    "type": 1,
                    "gender": 0,
                    "avatar": "",
                    "corp_name": corp_name,
                },
                "follow_user": [],
            },
        )
        known = {f["userid"] for f in contact["follow_user"]}
        for item in follow_user:
            entry = {"userid": item} if isinstance(item, str) else dict(item)
            if entry["userid"] in known:
                continue
            known.add(entry["userid"])
            contact["follow_user"].append(
                {
                    "remark": "",
                    "description": "",
                    "createtime": int(time.time()),
                    "tags": [],
                    "remark_mobiles": [],
                    "add_way": 1,
                    "oper_userid": entry["userid"],
                    "state": state,
                }
                | entry  # fmt: skip
            )
        return contact

    def add_member(
        self, userid: str, name: str, departments: Sequence[int], *,
        main_department: int | None = None, position: str = "", status: int = 1,
    ) -> JSON:  # fmt: skip
        """Add (or replace) a member of the address book, as user/get will answer it.

        status: 1 activated, 2 disabled, 4 not activated, 5 left the corp.
        """
        return self.state.add_member(
            userid, name, list(departments), main_department=main_department,
            position=position, status=status,
        )  # fmt: skip

    def add_department(self, dept_id: int, name: str, parent_id: int = 1) -> JSON:
        """Add (or rename) a department of the address book (1 is the root)."""
        return self.state.add_department(dept_id, name, parent_id)

    def add_kf_account(self, open_kfid: str, name: str) -> JSON:
        """Add a 微信客服 account, as kf/account/list answers it."""
        account: JSON = {"open_kfid": open_kfid, "name": name, "avatar": "",
                         "manage_privilege": True}  # fmt: skip
        self.state.kf_accounts[open_kfid] = account
        return account

    def queue_kf_text(self, open_kfid: str, external_userid: str, text: str) -> str:
        """Queue a customer's kf text for kf/sync_msg; returns its msgid."""
        return self.queue_kf_message(open_kfid, external_userid, "text", {"content": text})

    def queue_kf_message(
        self, open_kfid: str, external_userid: str, msgtype: str, body: JSON,
        *, send_time: int | None = None,
    ) -> str:  # fmt: skip
        """Queue a customer's kf message of any msgtype (body under that key); its msgid."""
        msgid = self.state.new_id("kfmsg")
        self.state.kf_msgs.setdefault(open_kfid, []).append(
            {
                "msgid": msgid,
                "open_kfid": open_kfid,
                "external_userid": external_userid,
                "send_time": int(time.time()) if send_time is None else send_time,
                "origin": 3,
                "msgtype": msgtype,
                msgtype: body,
            }  # fmt: skip
        )
        # A customer message re-opens the 5-message window and an ended session.
        self.state.kf_sends.pop((open_kfid, external_userid), None)
        session = self.state.kf_state.get((open_kfid, external_userid))
        if session is not None and session["service_state"] == 4:
            session.update(service_state=0, servicer_userid="")
        return msgid

    def queue_kf_servicer_text(
        self, open_kfid: str, external_userid: str, servicer: str, text: str,
        *, send_time: int | None = None,
    ) -> str:  # fmt: skip
        """Queue a person's reply sent from the WeCom client (origin 5); its msgid."""
        msgid = self.state.new_id("kfmsg")
        self.state.kf_msgs.setdefault(open_kfid, []).append({
            "msgid": msgid, "open_kfid": open_kfid, "external_userid": external_userid,
            "servicer_userid": servicer, "origin": 5, "msgtype": "text", "text": {"content": text},
            "send_time": int(time.time()) if send_time is None else send_time,
        })  # fmt: skip
        return msgid

    def queue_kf_event(self, open_kfid: str, event: JSON) -> str:
        """Queue a kf system event (msgtype event, origin 4, no customer fields); its msgid."""
        msgid = self.state.new_id("kfev")
        self.state.kf_msgs.setdefault(open_kfid, []).append(
            {
                "msgid": msgid,
                "send_time": int(time.time()),
                "origin": 4,
                "msgtype": "event",
                "event": event,
            }  # fmt: skip
        )
        return msgid

    def add_group_chat(
        self, *, name: str, owner: str, members: Sequence[str] = (),
        customers: Sequence[str] = (), chat_id: str | None = None,
    ) -> str:  # fmt: skip
        """Create a customer group (owner and members internal, customers external); its id."""
        chat_id = chat_id or self.state.new_id("wr")
        now = int(time.time())
        member_list = [
            {"userid": userid, "type": 1, "join_time": now, "join_scene": 1}
            for userid in dict.fromkeys([owner, *members])
        ] + [
            {"userid": euid, "type": 2, "join_time": now, "join_scene": 1,
             "name": self.state.contacts.get(euid, {}).get("external_contact", {}).get("name", "")}
            for euid in customers
        ]  # fmt: skip
        self.state.group_chats[chat_id] = {
            "chat_id": chat_id, "name": name, "owner": owner, "create_time": now,
            "notice": "", "member_list": member_list, "admin_list": [],
        }  # fmt: skip
        return chat_id

    def issue_oauth_code(self, userid: str) -> str:
        """A single-use OAuth code that auth/getuserinfo resolves to `userid`."""
        code = secrets.token_urlsafe(24)
        self.state.oauth_codes[code] = userid
        return code

    # ----------------------------------------------------------------- callback XML

    def xml_app_text(self, userid: str, text: str) -> bytes:
        """Decrypted XML of a member's text message to the app."""
        return fake_xml.app_text(self.state.corp_id, self.state.agent_id, userid, text)

    def xml_add_external_contact(
        self, userid: str, external_userid: str, state: str, welcome_code: str | None
    ) -> bytes:
        """Decrypted XML of change_external_contact/add_external_contact."""
        return fake_xml.add_external_contact(
            self.state.corp_id, userid, external_userid, state, welcome_code
        )

    def xml_kf_event(self, open_kfid: str, token: str | None = None) -> bytes:
        """Decrypted XML of kf_msg_or_event (a fresh sync token unless given)."""
        return fake_xml.kf_event(self.state.corp_id, open_kfid, token or secrets.token_urlsafe(32))

    # ----------------------------------------------------------------- callback origination

    def build_callback(
        self, plain_xml: bytes, *, timestamp: str | None = None, nonce: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Encrypt and sign a callback: (query params, envelope body) as WeCom would POST."""
        encrypt = self.crypto.encrypt(plain_xml)
        ts = timestamp or str(int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**10))
        query = {"msg_signature": self.crypto.signature(ts, nonce, encrypt), "timestamp": ts,
                 "nonce": nonce}  # fmt: skip
        body = fake_xml.render(
            [
                ("ToUserName", self.state.corp_id),
                ("Encrypt", encrypt),
                ("AgentID", str(self.state.agent_id)),
            ]  # fmt: skip
        )
        return query, body

    async def post_callback(self, callback_url: str, plain_xml: bytes) -> tuple[int, bytes]:
        """POST an encrypted, signed callback; returns (HTTP status, raw reply body)."""
        query, body = self.build_callback(plain_xml)
        timeout = aiohttp.ClientTimeout(total=self.callback_timeout)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(
                callback_url, params=query, data=body, headers={"Content-Type": "text/xml"}
            ) as resp,
        ):
            return resp.status, await resp.read()

    def open_reply(self, reply_body: bytes) -> bytes:
        """Verify and decrypt a passive reply envelope; b"" for an empty reply."""
        if not reply_body.strip():
            return b""
        env = parse_envelope(reply_body)
        if not self.crypto.verify(
            env.get("MsgSignature", ""), env.get("TimeStamp", ""), env.get("Nonce", ""),
            env["Encrypt"],
        ):  # fmt: skip
            raise CryptoError("reply signature mismatch")
        return self.crypto.decrypt(env["Encrypt"])

    # ----------------------------------------------------------------- HTTP views

    def _record(self, path: str, request: web.Request, body: JSON | None) -> JSON:
        query = {k: v for k, v in request.query.items() if k != "access_token"}
        if "corpsecret" in query:
            query["corpsecret"] = "***"  # _calls is served over HTTP in sandbox mode
        at = datetime.now(UTC).isoformat()
        call = {"path": "cgi-bin/" + path, "query": query, "json": body, "at": at, "errcode": None}
        self.calls.append(call)
        return call

    async def _api(self, request: web.Request) -> web.Response:
        path = _norm(request.match_info["path"])
        raw = await request.read()
        body: JSON | None = None
        try:
            if raw.strip():
                parsed = json.loads(raw)
                if not isinstance(parsed, dict):
                    raise ValueError("not an object")
                body = parsed
        except ValueError:
            call = self._record(path, request, None)
            call["errcode"] = fake_state.JSON_ERROR
            return _answer(FakeApiError(fake_state.JSON_ERROR, "json decode error"))
        call = self._record(path, request, body)
        if self._delays.get(path):
            self._held[path] = self._held.get(path, 0) + 1
            try:
                await asyncio.sleep(self._delays[path])
            finally:
                self._held[path] -= 1
        # Where callers reach the fake (QR image URLs point back at it).
        self.state.public_url = str(request.url.with_query(None)).split("/cgi-bin/", 1)[0]
        endpoint = fake_api.ENDPOINTS.get(path)
        if endpoint is None:
            call["errcode"] = 404
            return web.json_response({"errcode": 404, "errmsg": f"no fake for {path}"}, status=404)
        try:
            failures = self._failures.get(path)
            injected = failures.popleft() if failures else None
            if injected is not None:
                raise FakeApiError(injected, "injected by a fault")
            if path not in fake_api.NO_TOKEN:
                self.state.check_token(request.query.get("access_token"))
            data = endpoint(self.state, request.query, body or {})
        except FakeApiError as exc:
            call["errcode"] = exc.errcode
            return _answer(exc)
        call["errcode"] = 0
        if data.pop("_duplicate", False):
            call["duplicate"] = True  # accepted, but WeCom did not deliver it again
        return web.json_response({"errcode": 0, "errmsg": "ok", **data})

    async def _calls_view(self, request: web.Request) -> web.Response:
        return web.json_response(self.calls)

    async def _events_view(self, request: web.Request) -> web.Response:
        try:
            event = await request.json()
            plain, extra = fake_events.event_xml(self, event)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return web.json_response({"error": f"bad event: {exc}"}, status=400)
        if not self.callback_url:
            return web.json_response({"error": "callback_url is not set"}, status=409)
        try:
            status, reply = await self.post_callback(self.callback_url, plain)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return web.json_response({"error": type(exc).__name__}, status=502)
        try:
            reply_plain = self.open_reply(reply) if status == 200 else b""
            reply_text = parse_plain(reply_plain).get("Content", "") if reply_plain else ""
        except (CryptoError, EnvelopeError) as exc:
            logger.warning("fake wecom: unreadable passive reply: %s", exc)
            reply_plain, reply_text = b"", ""
        out = {"status": status, "reply": reply_plain.decode(errors="replace"),
               "reply_text": reply_text} | extra  # fmt: skip
        return web.json_response(out)

    async def _faults_view(self, request: web.Request) -> web.Response:
        """{"path", "errcode", "times"?, "after"?} queues refusals; {"path", "delay"} slows a
        path down (0 stops it); {"clear": true} forgets them all."""
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise TypeError("a JSON object is required")
            if data.get("clear"):
                self.clear_faults()
            elif "delay" in data:
                seconds = float(data["delay"])
                if not 0 <= seconds <= 120:
                    raise ValueError("delay must be 0-120 seconds")
                self.delay(str(data["path"]), seconds)
            else:
                times = int(data.get("times", 1))
                if not 1 <= times <= 10_000:
                    raise ValueError("times must be 1-10000")
                self.fail_next(str(data["path"]), int(data["errcode"]), times,
                               after=int(data.get("after", 0)))  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": f"bad fault: {exc}"}, status=400)
        return await self._faults_list(request)

    async def _faults_list(self, request: web.Request) -> web.Response:
        failures = {path: [e for e in queue if e is not None] for path, queue in
                    self._failures.items() if queue}  # fmt: skip
        delays = {path: sec for path, sec in self._delays.items() if sec}
        return web.json_response({"failures": failures, "delays": delays})

    async def _oauth_view(self, request: web.Request) -> web.Response:
        """{"userid"} -> {"code"}: what WeCom's OAuth page gives the member who signs in."""
        try:
            userid = str((await request.json())["userid"])
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": f"bad request: {exc}"}, status=400)
        return web.json_response({"code": self.issue_oauth_code(userid)})

    async def _mass_view(self, request: web.Request) -> web.Response:
        """{"sender"} -> {"confirmed": n}: the member confirms their 群发助手 tasks."""
        try:
            sender = str((await request.json())["sender"])
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": f"bad request: {exc}"}, status=400)
        return web.json_response({"confirmed": self.confirm_mass(sender)})

    async def _groups_view(self, request: web.Request) -> web.Response:
        """{"name", "owner", "customers"} -> {"chat_id"}: a customer group is created."""
        try:
            data = await request.json()
            chat_id = self.add_group_chat(
                name=str(data["name"]), owner=str(data["owner"]),
                customers=[str(c) for c in data.get("customers") or []],
            )  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": f"bad request: {exc}"}, status=400)
        return web.json_response({"chat_id": chat_id})


def _answer(exc: FakeApiError) -> web.Response:
    return web.json_response({"errcode": exc.errcode, "errmsg": exc.errmsg})
