"""The decrypted callback as one typed value, and its de-duplication key."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from wechatpy.work import parse_message

# Events about external contacts all come "from" sys, so FromUserName+CreateTime would collide
# between two customers added in the same second (wecom-reference §1.7).
# Events of several objects can share a second (a tag and its group edited together): their
# retry key carries the object's ids, not just the time.
_CONTACT_EVENTS = frozenset(
    {"change_external_contact", "change_external_chat", "change_external_tag"}
)


@dataclass(frozen=True)
class Event:
    """One inbound callback: the flat fields of the decrypted XML plus the raw text."""

    fields: dict[str, str]
    xml: str = field(repr=False)

    @property
    def msg_type(self) -> str:
        """MsgType: text, image, event, ..."""
        return self.fields.get("MsgType", "")

    @property
    def event(self) -> str:
        """Event name for MsgType=event, else empty."""
        return self.fields.get("Event", "") if self.msg_type == "event" else ""

    @property
    def change_type(self) -> str:
        """ChangeType of change_external_* events, else empty."""
        return self.fields.get("ChangeType", "")

    @property
    def from_user(self) -> str:
        """FromUserName: a member's userid, or "sys" for system events."""
        return self.fields.get("FromUserName", "")

    @property
    def text(self) -> str:
        """Content of a text message."""
        return self.fields.get("Content", "")

    @property
    def kind(self) -> str:
        """A readable label for logs and the inbox: "text", "event/change_external_contact/add"."""
        parts = [self.msg_type or "?"]
        if self.event:
            parts.append(self.event)
        if self.change_type:
            parts.append(self.change_type)
        return "/".join(parts)

    @cached_property
    def message(self) -> Any:
        """The wechatpy.work message object (typed attributes for known types)."""
        return parse_message(self.xml)

    def dedup_key(self) -> str:
        """Key that is equal for WeCom's retries of one callback and differs otherwise."""
        f = self.fields
        if f.get("MsgId"):
            return f"msg:{f['MsgId']}"
        created = f.get("CreateTime", "")
        if self.event in _CONTACT_EVENTS:
            ids = [f.get(k, "") for k in ("UserID", "ExternalUserID", "ChatId", "Id")]
            return ":".join(["ev", self.event, self.change_type, *ids, created])
        if self.event == "kf_msg_or_event":
            # The Token is unique per notification; several can share a second.
            return f"ev:kf:{f.get('OpenKfId', '')}:{f.get('Token', '')}:{created}"
        return f"ev:{self.from_user}:{self.event or self.msg_type}:{created}"
