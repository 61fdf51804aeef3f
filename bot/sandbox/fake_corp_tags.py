"""The fake WeCom's edit_corp_tag and del_corp_tag (add and list are in fake_api)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.sandbox.fake_state import INVALID_PARAM, INVALID_TAG, JSON, FakeApiError, FakeState


def _need(cond: object, errmsg: str, errcode: int = INVALID_PARAM) -> None:
    if not cond:
        raise FakeApiError(errcode, errmsg)


def edit_corp_tag(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    """Rename a tag or a group (the id says which); order when given."""
    target = str(body.get("id") or "")
    name = body.get("name")
    _need(target, "id missing")
    _need(name is None or 0 < len(str(name)) <= 30, "name must be 1-30 chars")
    group = state.groups.get(target)
    if group is not None:
        if name is not None:
            clash = any(g["group_name"] == name and g is not group for g in state.groups.values())
            _need(not clash, "group name exists", 40071)
            group["group_name"] = str(name)
        if body.get("order") is not None:
            group["order"] = int(body["order"])
        return {}
    found = state.all_tags().get(target)
    _need(found, "invalid tagid", INVALID_TAG)
    assert found is not None
    owner, tag = found
    if name is not None:
        clash = any(t["name"] == name and t is not tag for t in owner["tag"])
        _need(not clash, "tag name exists", 40071)
        tag["name"] = str(name)
    if body.get("order") is not None:
        tag["order"] = int(body["order"])
    return {}


def del_corp_tag(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    """Delete tags and whole groups; a group left with no tags goes too (as WeCom does)."""
    tag_ids = [str(t) for t in body.get("tag_id") or []]
    group_ids = [str(g) for g in body.get("group_id") or []]
    _need(tag_ids or group_ids, "tag_id and group_id both empty")
    known = state.all_tags()
    _need(all(t in known for t in tag_ids), "invalid tagid", INVALID_TAG)
    _need(all(g in state.groups for g in group_ids), "invalid tag group id", INVALID_TAG)
    for gid in group_ids:
        del state.groups[gid]
    for tid in tag_ids:
        group, tag = known[tid]
        group["tag"] = [t for t in group["tag"] if t is not tag]
        if not group["tag"]:
            state.groups.pop(group["group_id"], None)
    # Customers lose deleted tags too.
    live = state.all_tags()
    for contact in state.contacts.values():
        for follow in contact["follow_user"]:
            follow["tags"] = [t for t in follow["tags"] if t["tag_id"] in live]
    return {}


ENDPOINTS = {
    "externalcontact/edit_corp_tag": edit_corp_tag,
    "externalcontact/del_corp_tag": del_corp_tag,
}
