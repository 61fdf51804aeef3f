"""Sandbox events: what `POST /sandbox/wecom/_events` does to the fake before it calls back.

Each type changes the fake's state the way WeCom would and returns the decrypted callback XML
plus fields for the answer (e.g. the new external_userid).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.sandbox import fake_xml
from bot.sandbox.fake_state import JSON

if TYPE_CHECKING:
    from bot.sandbox.fake import FakeWeCom

# Sandbox "contact_change" field -> the XML element WeCom uses for it.
CONTACT_EXTRAS = {"source": "Source", "fail_reason": "FailReason"}


def event_xml(fake: FakeWeCom, event: Mapping[str, Any]) -> tuple[bytes, JSON]:
    """Apply one sandbox event; its callback XML and extra answer fields."""
    kind = event["type"]
    if kind == "add_external_contact":
        userid = str(event["userid"])
        euid = str(event.get("external_userid") or fake.state.new_id("wm"))
        state = str(event.get("state") or "")
        fake.add_contact(euid, name=str(event.get("name") or ""), follow_user=[userid],
                         state=state)  # fmt: skip
        code = fake.state.new_id("WELCOME")
        xml = fake.xml_add_external_contact(userid, euid, state, code)
        return xml, {"external_userid": euid, "welcome_code": code}
    if kind == "contact_change":
        extra = {CONTACT_EXTRAS[k]: str(v) for k, v in event.items() if k in CONTACT_EXTRAS}
        xml = fake_xml.contact_change(
            fake.state.corp_id, str(event["change_type"]), str(event["userid"]),
            str(event["external_userid"]), **extra,
        )  # fmt: skip
        return xml, {}
    if kind.startswith("kf_"):
        return _kf(fake, kind, event)
    if kind == "app_text":
        return fake.xml_app_text(str(event["userid"]), str(event["text"])), {}
    raise ValueError(f"unknown type {kind!r}")


def _kf(fake: FakeWeCom, kind: str, event: Mapping[str, Any]) -> tuple[bytes, JSON]:
    """kf_text {text, menu_id?}, kf_media {msgtype}, kf_enter_session, kf_servicer_text
    {servicer, text} (a person's reply from the WeCom client), kf_end_session (the servicer
    ends the session in the client; the customer's next message reaches the bot again):
    queue, then notify."""
    kfid, euid = str(event["open_kfid"]), str(event["external_userid"])
    if kind == "kf_text":
        body: JSON = {"content": str(event["text"])}
        if event.get("menu_id"):
            body["menu_id"] = str(event["menu_id"])
        msgid = fake.queue_kf_message(kfid, euid, "text", body)
    elif kind == "kf_media":
        msgtype = str(event.get("msgtype") or "image")
        msgid = fake.queue_kf_message(kfid, euid, msgtype, {"media_id": fake.state.new_id("MD")})
    elif kind == "kf_servicer_text":
        msgid = fake.queue_kf_servicer_text(kfid, euid, str(event["servicer"]), str(event["text"]))
    elif kind == "kf_enter_session":
        code = fake.state.new_id("KFWELCOME")
        msgid = fake.queue_kf_event(kfid, {"event_type": "enter_session", "open_kfid": kfid,
                                           "external_userid": euid, "scene": "",
                                           "welcome_code": code})  # fmt: skip
    elif kind == "kf_end_session":
        session = fake.state.kf_state.get((kfid, euid))
        if session is None or session["service_state"] not in (2, 3):
            raise ValueError("the session is not queued for or with a servicer")
        servicer = session["servicer_userid"]
        session.update(service_state=4, servicer_userid="")
        msgid = fake.queue_kf_event(kfid, {"event_type": "session_status_change",
                                           "open_kfid": kfid, "external_userid": euid,
                                           "change_type": 3, "old_servicer_userid": servicer,
                                           "msg_code": fake.state.new_id("MSGCODE")})  # fmt: skip
    else:
        raise ValueError(f"unknown type {kind!r}")
    return fake.xml_kf_event(kfid), {"msgid": msgid}
