"""The fake WeCom's address-book and kf directory endpoints: who the members, departments,
kf accounts and kf customers are (same conventions as `bot.sandbox.fake_api`)."""

from __future__ import annotations

import copy
from collections.abc import Mapping

from bot.sandbox.fake_state import (
    INVALID_PARAM,
    INVALID_PARTY,
    JSON,
    USER_NOT_FOUND,
    FakeApiError,
    FakeState,
)


def _need(cond: object, errmsg: str, errcode: int = INVALID_PARAM) -> None:
    if not cond:
        raise FakeApiError(errcode, errmsg)


def user_get(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    userid = query.get("userid", "")
    _need(userid, "userid missing")
    member = state.members.get(userid)
    _need(member, "userid not found", USER_NOT_FOUND)
    return copy.deepcopy(member or {})


def department_list(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    """One department and everything below it, or (no id) every department."""
    if not query.get("id"):
        return {"department": copy.deepcopy(sorted(state.departments.values(),
                                                   key=lambda d: d["id"]))}  # fmt: skip
    _need(query["id"].isdigit(), "invalid department id")
    root = int(query["id"])
    _need(root in state.departments, "invalid party id", INVALID_PARTY)
    wanted, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for dept in state.departments.values():
            if dept["parentid"] == parent and dept["id"] not in wanted:
                wanted.add(dept["id"])
                frontier.append(dept["id"])
    found = [state.departments[d] for d in sorted(wanted)]
    return {"department": copy.deepcopy(found)}


def user_list(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    """The members directly in one department (fetch_child=0); departed members (status 5)
    are gone from the address book."""
    raw = query.get("department_id", "")
    _need(raw.isdigit(), "department_id missing")
    dept = int(raw)
    _need(dept in state.departments, "invalid party id", INVALID_PARTY)
    members = [m for m in state.members.values()
               if dept in m["department"] and m.get("status") != 5]  # fmt: skip
    return {"userlist": copy.deepcopy(members)}


def kf_account_list(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 100)
    _need(offset >= 0 and 0 < limit <= 100, "limit must be 1-100")
    accounts = list(state.kf_accounts.values())[offset : offset + limit]
    return {"account_list": copy.deepcopy(accounts)}


def kf_customer_batchget(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    ids = body.get("external_userid_list") or []
    _need(isinstance(ids, list) and 0 < len(ids) <= 100, "external_userid_list must hold 1-100")
    found, invalid = [], []
    for euid in ids:
        contact = state.contacts.get(str(euid))
        if contact is None:
            invalid.append(euid)
            continue
        person = contact["external_contact"]
        found.append({"external_userid": euid, "nickname": person.get("name", ""),
                      "avatar": person.get("avatar", ""), "gender": person.get("gender", 0),
                      "unionid": ""})  # fmt: skip
    return {"customer_list": found, "invalid_external_userid": invalid}


ENDPOINTS = {
    "user/get": user_get,
    "user/list": user_list,
    "department/list": department_list,
    "kf/account/list": kf_account_list,
    "kf/customer/batchget": kf_customer_batchget,
}
