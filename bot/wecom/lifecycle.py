"""WeCom calls of the customer lifecycle (issue 13): 企业群发 (add_msg_template)."""

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
