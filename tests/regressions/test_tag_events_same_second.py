"""Two change_external_tag events in the same second (a tag and its group edited together)
were one retry key, so the second was dropped as a retry of the first."""

from __future__ import annotations

from bot.wecom.events import Event


def _tag_event(item_id: str, change: str) -> Event:
    fields = {"MsgType": "event", "Event": "change_external_tag", "FromUserName": "sys",
              "CreateTime": "1700000000", "Id": item_id, "ChangeType": change}  # fmt: skip
    return Event(fields=fields, xml="<xml/>")


def test_tag_events_of_one_second_have_their_own_keys() -> None:
    keys = {
        _tag_event("et1", "update").dedup_key(),
        _tag_event("et2", "update").dedup_key(),
        _tag_event("eg1", "shuffle").dedup_key(),
    }
    assert len(keys) == 3
    # WeCom's retry of one event is still the same key.
    assert _tag_event("et1", "update").dedup_key() == _tag_event("et1", "update").dedup_key()
