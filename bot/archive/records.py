"""Decrypted archive messages: a customer's message, a rep's reply, or nothing of ours.

Parties are told apart by the address book first (a member we know is a member, whatever
their userid looks like) and then by id shape: WeCom gives external contacts ids starting
with "wo" or "wm"; members' userids are chosen by the corp.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

EXTERNAL_PREFIXES = ("wo", "wm")
# Column widths of message.source_msgid and of the ids we store.
MSGID_MAX = 128
ID_MAX = 64
MEDIA_LABELS = {"image": "[图片]", "voice": "[语音]", "video": "[视频]", "file": "[文件]",
                "emotion": "[表情]"}  # fmt: skip

Kind = Literal["customer", "rep", "skip"]


@dataclass(frozen=True, slots=True)
class MediaRef:
    """Where an image, voice note, video or file can be fetched from (GetMediaData)."""

    msgtype: str
    sdkfileid: str
    md5sum: str
    size: int


@dataclass(frozen=True, slots=True)
class Item:
    """One archive message as the pipeline sees it."""

    kind: Kind
    msgid: str
    external_userid: str = ""
    userid: str = ""
    # The text, or a label such as [图片] for media; is_text says which.
    text: str = ""
    is_text: bool = False
    sent_at: datetime | None = None
    media: MediaRef | None = None
    why: str = ""  # for a skip: the reason (logged as a count, never with content)


def looks_external(party: str) -> bool:
    """Whether an id has the shape WeCom gives external contacts."""
    return party.startswith(EXTERNAL_PREFIXES)


def parties(message: dict[str, Any]) -> set[str]:
    """Every id a message names (to look up in the address book in one query)."""
    found = {str(message.get("from") or "")}
    tolist = message.get("tolist")
    if isinstance(tolist, list):
        found.update(str(t) for t in tolist)
    return {p for p in found if p}


def _clean(value: object, max_len: int) -> str:
    text = value if isinstance(value, str) else ""
    return text.replace("\x00", "")[:max_len]


def _sent_at(message: dict[str, Any]) -> datetime | None:
    msgtime = message.get("msgtime")
    if isinstance(msgtime, int) and not isinstance(msgtime, bool) and msgtime > 0:
        try:
            return datetime.fromtimestamp(msgtime / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _media(message: dict[str, Any], msgtype: str) -> MediaRef | None:
    body = message.get(msgtype)
    if not isinstance(body, dict) or not isinstance(body.get("sdkfileid"), str):
        return None
    size = body.get("filesize", body.get("voice_size", 0))
    return MediaRef(msgtype, body["sdkfileid"], _clean(body.get("md5sum"), 64),
                    size if isinstance(size, int) else 0)  # fmt: skip


def _content(message: dict[str, Any], msgtype: str) -> tuple[str, bool, MediaRef | None]:
    """(text, is_text, media) of a message we keep; ("", False, None) for any other type."""
    if msgtype == "text":
        body = message.get("text")
        content = body.get("content") if isinstance(body, dict) else None
        return (content, True, None) if isinstance(content, str) else ("", False, None)
    if msgtype in MEDIA_LABELS:
        label = MEDIA_LABELS[msgtype]
        body = message.get(msgtype)
        if msgtype == "file" and isinstance(body, dict) and isinstance(body.get("filename"), str):
            label = f"{label} {body['filename'][:100]}"
        return label, False, _media(message, msgtype)
    return "", False, None


def classify(message: dict[str, Any], is_member: Callable[[str], bool]) -> Item:
    """What one decrypted message is to us; is_member asks the address book."""
    msgid = _clean(message.get("msgid"), MSGID_MAX)
    if not msgid:
        return Item("skip", "", why="no msgid")
    if message.get("action", "send") != "send":
        return Item("skip", msgid, why="recall or switch")
    if message.get("roomid"):
        return Item("skip", msgid, why="group chat")
    sender = _clean(message.get("from"), ID_MAX)
    tolist = message.get("tolist")
    others = [_clean(t, ID_MAX) for t in tolist] if isinstance(tolist, list) else []
    others = [t for t in others if t]
    if not sender or len(others) != 1:
        return Item("skip", msgid, why="not a 1:1 chat")

    def external(party: str) -> bool:
        return not is_member(party) and looks_external(party)

    receiver = others[0]
    if external(sender) and not external(receiver):
        kind: Kind = "customer"
        customer, rep = sender, receiver
    elif not external(sender) and external(receiver):
        kind, customer, rep = "rep", receiver, sender
    else:
        return Item("skip", msgid, why="between members" if not external(sender) else
                    "between customers")  # fmt: skip
    msgtype = str(message.get("msgtype") or "")
    text, is_text, media = _content(message, msgtype)
    if not text:
        return Item("skip", msgid, why=f"type {msgtype[:20]}")
    return Item(kind, msgid, customer, rep, text.replace("\x00", ""), is_text,
                _sent_at(message), media)  # fmt: skip
