"""WeCom calls of the customer lifecycle (issue 13): 企业群发 (add_msg_template) and its result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.wecom.client import JSON, WeComClient


async def add_msg_template(
    client: WeComClient,
    sender: str,
    external_userids: Sequence[str],
    text: str,
    attachments: Sequence[Mapping[str, Any]] = (),
    *,
    retry: bool = True,
) -> JSON:
    """企业群发 to one rep's customers: WeCom puts it in the rep's 群发助手 to confirm."""
    body: JSON = {"chat_type": "single", "external_userid": list(external_userids),
                  "sender": sender, "allow_select": False}  # fmt: skip
    if text:
        body["text"] = {"content": text}
    if attachments:
        body["attachments"] = [dict(a) for a in attachments]
    return await client.post("externalcontact/add_msg_template", body, retry=retry)


async def groupmsg_send_status(
    client: WeComClient, msgid: str, sender: str, external_userid: str
) -> int | None:
    """One customer's status in a 企业群发 task (get_groupmsg_send_result): 0 not sent yet
    (the rep has not confirmed), 1 sent, 2 not a contact, 3 had another 群发 already; None
    when the task does not list the customer."""
    cursor = ""
    while True:
        body: JSON = {"msgid": msgid, "userid": sender, "limit": 1000}
        if cursor:
            body["cursor"] = cursor
        data = await client.post("externalcontact/get_groupmsg_send_result", body)
        for item in data.get("send_list") or []:
            if item.get("external_userid") == external_userid:
                return int(item.get("status") or 0)
        cursor = str(data.get("next_cursor") or "")
        if not cursor:
            return None
