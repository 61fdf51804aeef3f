"""The fake WeCom's customer-lifecycle endpoints: 企业群发 and its send result. Same
conventions as `bot.sandbox.fake_api`; transfers are answered there."""

from __future__ import annotations

from collections.abc import Mapping

from bot.sandbox.fake_state import INVALID_PARAM, JSON, FakeApiError, FakeState


def _need(cond: object, errmsg: str, errcode: int = INVALID_PARAM) -> None:
    if not cond:
        raise FakeApiError(errcode, errmsg)


def add_msg_template(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    """A mass-send task for the sender to confirm; customers the sender does not follow fail."""
    _need(body.get("chat_type", "single") in ("single", "group"), "invalid chat_type")
    ids = [str(e) for e in body.get("external_userid") or []]
    _need(ids or body.get("chat_type") == "group", "external_userid missing")
    _need(body.get("text") or body.get("attachments"), "text or attachments required")
    sender = str(body.get("sender") or "")
    fails = []
    for euid in ids:
        try:
            state.follow(sender, euid)
        except FakeApiError:
            fails.append(euid)
    msgid = state.new_id("msg")
    state.mass_tasks[msgid] = {"sender": sender, "confirmed": False,
                               "external_userid": [e for e in ids if e not in fails]}  # fmt: skip
    return {"fail_list": fails, "msgid": msgid}


def get_groupmsg_send_result(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    """Per customer: 0 until the sender confirms the task in the client, then 1."""
    task = state.mass_tasks.get(str(body.get("msgid") or ""))
    _need(task is not None, "invalid msgid")
    assert task is not None
    _need(body.get("userid") == task["sender"], "invalid userid")
    status = 1 if task["confirmed"] else 0
    return {"next_cursor": "", "send_list": [
        {"external_userid": e, "userid": task["sender"], "status": status}
        for e in task["external_userid"]
    ]}  # fmt: skip


ENDPOINTS = {
    "externalcontact/add_msg_template": add_msg_template,
    "externalcontact/get_groupmsg_send_result": get_groupmsg_send_result,
}
