"""Decrypted callback XML as WeCom sends it (wecom-reference §2.1, §3.1, §5.1), for the fake."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence


def cdata(text: str) -> str:
    """Wrap text in CDATA, splitting any "]]>" it contains."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render(fields: Sequence[tuple[str, str | int]]) -> bytes:
    """`<xml>` with one element per field: ints bare, strings in CDATA; newline-separated
    like the official sample, so parsers see inter-element whitespace."""
    parts = [f"<{k}>{v if isinstance(v, int) else cdata(v)}</{k}>" for k, v in fields]
    return ("<xml>" + "\n".join(parts) + "\n</xml>").encode()


def new_msgid() -> str:
    """A 64-bit MsgId as text (WeCom's are 19-digit numbers)."""
    return str(secrets.randbelow(9 * 10**18) + 10**18)


def app_text(corp_id: str, agent_id: int, userid: str, text: str) -> bytes:
    """A member's text message to the self-built app."""
    return render(
        [
            ("ToUserName", corp_id),
            ("FromUserName", userid),
            ("CreateTime", int(time.time())),
            ("MsgType", "text"),
            ("Content", text),
            ("MsgId", int(new_msgid())),
            ("AgentID", agent_id),
        ]
    )


def add_external_contact(
    corp_id: str, userid: str, external_userid: str, state: str, welcome_code: str | None
) -> bytes:
    """change_external_contact/add_external_contact (no WelcomeCode when None)."""
    extra = {"State": state}
    if welcome_code is not None:
        extra["WelcomeCode"] = welcome_code
    return contact_change(corp_id, "add_external_contact", userid, external_userid, **extra)


def kf_event(corp_id: str, open_kfid: str, token: str) -> bytes:
    """kf_msg_or_event: new kf data to pull with kf/sync_msg using `token`."""
    return render(
        [
            ("ToUserName", corp_id),
            ("CreateTime", int(time.time())),
            ("MsgType", "event"),
            ("Event", "kf_msg_or_event"),
            ("Token", token),
            ("OpenKfId", open_kfid),
        ]
    )


def contact_change(
    corp_id: str, change_type: str, userid: str, external_userid: str, **extra: str
) -> bytes:
    """Any other change_external_contact (extra elements: Source, FailReason, ...)."""
    fields: list[tuple[str, str | int]] = [
        ("ToUserName", corp_id),
        ("FromUserName", "sys"),
        ("CreateTime", int(time.time())),
        ("MsgType", "event"),
        ("Event", "change_external_contact"),
        ("ChangeType", change_type),
        ("UserID", userid),
        ("ExternalUserID", external_userid),
    ]
    fields.extend(extra.items())
    return render(fields)
