"""The fake WeCom's REST endpoints (JSON shapes of wecom-reference §4-8).

Each endpoint is a plain function `(state, query, body) -> JSON` that raises `FakeApiError` for a
non-zero errcode; `bot.sandbox.fake` does the HTTP, recording, token checks and injected failures.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Callable, Mapping

from bot.sandbox import fake_directory, fake_lifecycle
from bot.sandbox.fake_state import (
    INVALID_AGENTID,
    INVALID_CHATID,
    INVALID_CODE,
    INVALID_CORPID,
    INVALID_MSGTYPE,
    INVALID_PARAM,
    INVALID_SECRET,
    INVALID_TAG,
    JSON,
    KF_BAD_STATE,
    KF_LIMIT,
    NO_RELATION,
    TAG_EXISTS,
    WELCOME_USED,
    FakeApiError,
    FakeState,
)


def _need(cond: object, errmsg: str, errcode: int = INVALID_PARAM) -> None:
    if not cond:
        raise FakeApiError(errcode, errmsg)


def gettoken(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    _need(query.get("corpid") == state.corp_id, "invalid corpid", INVALID_CORPID)
    _need(query.get("corpsecret") == state.secret, "invalid credential", INVALID_SECRET)
    return {"access_token": state.issue_token(), "expires_in": state.expires_in}


def message_send(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    _need(body.get("agentid") == state.agent_id, "invalid agentid", INVALID_AGENTID)
    _need(body.get("touser") or body.get("toparty") or body.get("totag"), "no receiver")
    msgtype = str(body.get("msgtype") or "")
    _need(msgtype and isinstance(body.get(msgtype), dict), "invalid message type", INVALID_MSGTYPE)
    answer: JSON = {"invaliduser": "", "invalidparty": "", "invalidtag": ""}
    if body.get("enable_duplicate_check"):
        # The same content to the same receivers within the interval is not delivered again.
        window = float(body.get("duplicate_check_interval") or 1800)
        key = json.dumps([body.get("touser"), msgtype, body[msgtype]], sort_keys=True)
        now = time.time()
        seen = state.sent_messages.get(key)
        if seen is not None and now - seen[0] < window:
            return answer | {"msgid": seen[1], "_duplicate": True}
        msgid = state.new_id("m")
        state.sent_messages[key] = (now, msgid)
        return answer | {"msgid": msgid}
    return answer | {"msgid": state.new_id("m")}


def externalcontact_get(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    contact = state.contacts.get(query.get("external_userid", ""))
    if contact is None:
        raise FakeApiError(NO_RELATION, "not external contact")
    return copy.deepcopy(contact) | {"next_cursor": ""}


def batch_get_by_user(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    userids = body.get("userid_list") or []
    _need(isinstance(userids, list) and 0 < len(userids) <= 100, "userid_list must hold 1-100")
    limit = min(int(body.get("limit") or 50), 100)
    pairs = [
        (c, f) for c in state.contacts.values() for f in c["follow_user"] if f["userid"] in userids
    ]
    start = int(body.get("cursor") or 0)
    page = pairs[start : start + limit]
    items = [
        {
            "external_contact": copy.deepcopy(c["external_contact"]),
            "follow_info": {k: v for k, v in f.items() if k != "tags"}
            | {"tag_id": [t["tag_id"] for t in f["tags"]]},
        }
        for c, f in page
    ]
    more = start + limit < len(pairs)
    return {"external_contact_list": items, "next_cursor": str(start + limit) if more else ""}


def send_welcome_msg(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    code = str(body.get("welcome_code") or "")
    _need(code, "welcome_code missing")
    _need(code not in state.used_codes, "externaluser has started chatting", WELCOME_USED)
    _need((body.get("text") or {}).get("content") or body.get("attachments"), "empty message")
    _need(len(body.get("attachments") or []) <= 9, "at most 9 attachments")
    state.used_codes.add(code)
    return {}


def get_corp_tag_list(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    group_ids, tag_ids = body.get("group_id") or [], body.get("tag_id") or []
    groups = copy.deepcopy(list(state.groups.values()))
    if group_ids:  # group_id wins over tag_id
        groups = [g for g in groups if g["group_id"] in group_ids]
    elif tag_ids:
        for g in groups:
            g["tag"] = [t for t in g["tag"] if t["id"] in tag_ids]
        groups = [g for g in groups if g["tag"]]
    return {"tag_group": groups}


def add_corp_tag(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    names = [str(t.get("name", "")) for t in body.get("tag") or []]
    _need(names and all(0 < len(n) <= 30 for n in names), "tag names must be 1-30 chars")
    now = int(time.time())
    if body.get("group_id"):
        group = state.groups.get(body["group_id"])
        _need(group, "invalid tag group id", INVALID_TAG)
    else:
        gname = str(body.get("group_name") or "")
        _need(0 < len(gname) <= 30, "group_name must be 1-30 chars")
        group = next((g for g in state.groups.values() if g["group_name"] == gname), None)
        if group is None:
            gid = state.new_id("etg")
            group = {"group_id": gid, "group_name": gname, "create_time": now, "order": 0,
                     "deleted": False, "tag": []}  # fmt: skip
            state.groups[gid] = group
    assert group is not None
    existing = {t["name"] for t in group["tag"]}
    _need(not existing & set(names) and len(set(names)) == len(names), "tag exists", TAG_EXISTS)
    created = [
        {"id": state.new_id("ett"), "name": n, "create_time": now, "order": 0, "deleted": False}
        for n in names
    ]
    group["tag"].extend(created)
    return {"tag_group": {k: v for k, v in group.items() if k != "tag"} | {"tag": created}}


def mark_tag(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    follow = state.follow(str(body.get("userid")), str(body.get("external_userid")))
    add, remove = list(body.get("add_tag") or []), list(body.get("remove_tag") or [])
    _need(add or remove, "add_tag and remove_tag both empty")
    tags = state.all_tags()
    _need(all(t in tags for t in add + remove), "invalid tagid", INVALID_TAG)
    kept = [t for t in follow["tags"] if t["tag_id"] not in remove and t["tag_id"] not in add]
    for tid in add:
        group, tag = tags[tid]
        kept.append({"group_name": group["group_name"], "tag_name": tag["name"],
                     "tag_id": tid, "type": 1})  # fmt: skip
    follow["tags"] = kept
    return {}


def remark(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    follow = state.follow(str(body.get("userid")), str(body.get("external_userid")))
    _need(len(body.get("remark") or "") <= 20, "remark longer than 20 chars")
    _need(len(body.get("description") or "") <= 150, "description longer than 150 chars")
    for key in ("remark", "description"):
        if key in body:
            follow[key] = body[key]
    return {}


def transfer_customer(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    ids = body.get("external_userid") or []
    _need(0 < len(ids) <= 100, "external_userid must hold 1-100")
    _need(body.get("takeover_userid"), "takeover_userid missing")
    customers = []
    for eid in ids:
        try:
            state.follow(str(body.get("handover_userid")), eid)
            code = 0
        except FakeApiError as exc:
            code = exc.errcode
        customers.append({"external_userid": eid, "errcode": code})
    return {"customer": customers}


def groupchat_get(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    group = state.group_chats.get(str(body.get("chat_id") or ""))
    _need(group, "invalid chatid", INVALID_CHATID)
    return {"group_chat": copy.deepcopy(group)}


def kf_sync_msg(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    kfid = str(body.get("open_kfid") or "")
    _need(kfid, "open_kfid missing")
    limit = int(body.get("limit") or 1000)
    _need(0 < limit <= 1000, "limit must be 1-1000")
    cursor = str(body.get("cursor") or "0")
    _need(cursor.isdigit(), "invalid cursor")
    msgs = state.kf_msgs.get(kfid, [])
    start = int(cursor)
    end = min(start + limit, start + state.kf_page_max, len(msgs))
    page = copy.deepcopy(msgs[start:end])
    return {"next_cursor": str(end), "has_more": int(end < len(msgs)), "msg_list": page}


def _kf_session(state: FakeState, kfid: str, euid: str) -> JSON:
    return state.kf_state.setdefault((kfid, euid), {"service_state": 0, "servicer_userid": ""})


def kf_send_msg(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    kfid, euid = str(body.get("open_kfid") or ""), str(body.get("touser") or "")
    _need(kfid and euid, "open_kfid and touser required")
    msgtype = body.get("msgtype")
    _need(msgtype and isinstance(body.get(msgtype), dict), "invalid message type", INVALID_MSGTYPE)
    msgid = str(body.get("msgid") or "")
    used = state.kf_msgids.setdefault(kfid, set())
    if msgid and msgid in used:
        # Unverified how WeCom answers a reused msgid; the fake accepts it without sending.
        return {"msgid": msgid, "_duplicate": True}
    _need(_kf_session(state, kfid, euid)["service_state"] in (0, 1), "bad state", KF_BAD_STATE)
    sent = state.kf_sends.get((kfid, euid), 0)
    _need(sent < 5, "send limit reached", KF_LIMIT)
    state.kf_sends[(kfid, euid)] = sent + 1
    if msgid:
        used.add(msgid)
    return {"msgid": msgid or state.new_id("kfm")}


def kf_send_msg_on_event(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    code = str(body.get("code") or "")
    _need(code and code not in state.used_codes, "invalid or used code")
    msgtype = body.get("msgtype")
    _need(msgtype and isinstance(body.get(msgtype), dict), "invalid message type", INVALID_MSGTYPE)
    state.used_codes.add(code)
    return {"msgid": body.get("msgid") or state.new_id("kfm")}


def kf_service_state_get(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    kfid, euid = str(body.get("open_kfid") or ""), str(body.get("external_userid") or "")
    _need(kfid and euid, "open_kfid and external_userid required")
    session = _kf_session(state, kfid, euid)
    out: JSON = {"service_state": session["service_state"]}
    if session["service_state"] == 3:
        out["servicer_userid"] = session["servicer_userid"]
    return out


def kf_service_state_trans(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    kfid, euid = str(body.get("open_kfid") or ""), str(body.get("external_userid") or "")
    _need(kfid and euid, "open_kfid and external_userid required")
    new = body.get("service_state")
    _need(new in (0, 1, 2, 3, 4), "service_state must be 0-4")
    _need(new != 3 or body.get("servicer_userid"), "servicer_userid required for state 3")
    session = _kf_session(state, kfid, euid)
    old = session["service_state"]
    session.update(service_state=new, servicer_userid=body.get("servicer_userid") or "")
    # WeCom hands out a msg_code on the first move into 2/3 and on ending the session.
    gives_code = (new in (2, 3) and old not in (2, 3)) or new == 4
    return {"msg_code": state.new_id("MSGCODE")} if gives_code else {}


def ticket(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    return {"ticket": secrets.token_urlsafe(48), "expires_in": state.expires_in}


def agent_ticket(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    _need(query.get("type") == "agent_config", "type must be agent_config")
    return ticket(state, query, body)


def auth_getuserinfo(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    userid = state.oauth_codes.pop(query.get("code", ""), None)  # codes are single use
    _need(userid, "invalid code", INVALID_CODE)
    return {"userid": userid}


def webhook_send(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    _need(query.get("key"), "invalid webhook url", 93000)
    msgtype = body.get("msgtype")
    _need(msgtype and isinstance(body.get(msgtype), dict), "invalid message type", INVALID_MSGTYPE)
    return {}


Endpoint = Callable[[FakeState, Mapping[str, str], JSON], JSON]

# path under /cgi-bin/ -> endpoint
ENDPOINTS: dict[str, Endpoint] = {
    "gettoken": gettoken,
    "message/send": message_send,
    "externalcontact/get": externalcontact_get,
    "externalcontact/batch/get_by_user": batch_get_by_user,
    "externalcontact/send_welcome_msg": send_welcome_msg,
    "externalcontact/get_corp_tag_list": get_corp_tag_list,
    "externalcontact/add_corp_tag": add_corp_tag,
    "externalcontact/mark_tag": mark_tag,
    "externalcontact/remark": remark,
    "externalcontact/transfer_customer": transfer_customer,
    "externalcontact/groupchat/get": groupchat_get,
    "externalcontact/resigned/transfer_customer": transfer_customer,
    "kf/sync_msg": kf_sync_msg,
    "kf/send_msg": kf_send_msg,
    "kf/send_msg_on_event": kf_send_msg_on_event,
    "kf/service_state/get": kf_service_state_get,
    "kf/service_state/trans": kf_service_state_trans,
    "get_jsapi_ticket": ticket,
    "ticket/get": agent_ticket,
    "auth/getuserinfo": auth_getuserinfo,
    **fake_directory.ENDPOINTS,
    **fake_lifecycle.ENDPOINTS,
    "webhook/send": webhook_send,
}
# Endpoints that take no access_token.
NO_TOKEN = frozenset({"gettoken", "webhook/send"})
