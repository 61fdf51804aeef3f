"""The fake WeCom's 联系我 endpoints (add/get/update/del_contact_way) and its QR images.

add_contact_way answers a qr_code URL on the fake itself, where GET /_qr/{config_id}.png
draws a real QR code (segno), so the console can show and download it in sandbox mode.
"""

from __future__ import annotations

import copy
import io
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import segno
from aiohttp import web

from bot.sandbox.fake_state import INVALID_PARAM, JSON, FakeApiError, FakeState

if TYPE_CHECKING:
    from bot.sandbox.fake import FakeWeCom

# (fake) WeCom's answer to an unknown config_id is unverified; callers need only "non-zero".
INVALID_CONFIG = 41044
STATE_MAX = 30
USERS_MAX = 100
QR_PATH = "/_qr/{config_id}.png"


def _need(cond: object, errmsg: str, errcode: int = INVALID_PARAM) -> None:
    if not cond:
        raise FakeApiError(errcode, errmsg)


def _users(state: FakeState, body: JSON) -> list[str]:
    users = body.get("user") or []
    _need(isinstance(users, list) and 0 < len(users) <= USERS_MAX, "user must hold 1-100")
    _need(all(u in state.members for u in users), "invalid userid", 40031)
    return [str(u) for u in users]


def add_contact_way(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    kind = body.get("type")
    _need(kind in (1, 2), "type must be 1 or 2")
    _need(body.get("scene") in (1, 2), "scene must be 1 or 2")
    users = _users(state, body)
    _need(kind == 2 or len(users) == 1, "type 1 takes exactly one user")
    tag = str(body.get("state") or "")
    _need(len(tag) <= STATE_MAX, "state longer than 30 chars")
    _need(len(str(body.get("remark") or "")) <= 30, "remark longer than 30 chars")
    config_id = state.new_id("cw")
    way: JSON = {
        "config_id": config_id, "type": kind, "scene": body["scene"], "state": tag,
        "user": users, "skip_verify": body.get("skip_verify", True) is not False,
        "remark": str(body.get("remark") or ""), "create_time": int(time.time()),
    }  # fmt: skip
    answer: JSON = {"config_id": config_id}
    if body["scene"] == 2:
        way["qr_code"] = f"{state.public_url}{QR_PATH.format(config_id=config_id)}"
        answer["qr_code"] = way["qr_code"]
    state.contact_ways[config_id] = way
    return answer


def _way(state: FakeState, body: JSON) -> JSON:
    way = state.contact_ways.get(str(body.get("config_id") or ""))
    _need(way, "invalid config_id", INVALID_CONFIG)
    assert way is not None
    return way


def get_contact_way(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    return {"contact_way": copy.deepcopy(_way(state, body))}


def update_contact_way(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    way = _way(state, body)
    if "user" in body:
        users = _users(state, body)
        _need(way["type"] == 2 or len(users) == 1, "type 1 takes exactly one user")
        way["user"] = users
    if "skip_verify" in body:
        way["skip_verify"] = bool(body["skip_verify"])
    if "remark" in body:
        way["remark"] = str(body["remark"] or "")[:30]
    if "state" in body:
        _need(len(str(body["state"])) <= STATE_MAX, "state longer than 30 chars")
        way["state"] = str(body["state"])
    return {}


def del_contact_way(state: FakeState, query: Mapping[str, str], body: JSON) -> JSON:
    way = _way(state, body)
    del state.contact_ways[way["config_id"]]
    return {}


ENDPOINTS = {
    "externalcontact/add_contact_way": add_contact_way,
    "externalcontact/get_contact_way": get_contact_way,
    "externalcontact/update_contact_way": update_contact_way,
    "externalcontact/del_contact_way": del_contact_way,
}


def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG bytes."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def add_routes(fake: FakeWeCom) -> None:
    """Serve the configs' QR images (no token, like WeCom's image CDN)."""

    async def qr_image(request: web.Request) -> web.Response:
        way = fake.state.contact_ways.get(request.match_info["config_id"])
        if way is None:
            return web.Response(status=404, text="no such config")
        # What a real 联系我 code opens; the sandbox adds customers through /_events instead.
        target = f"https://work.weixin.qq.com/ca/{way['config_id']}?state={way['state']}"
        return web.Response(body=qr_png(target), content_type="image/png")

    fake.app.router.add_get(QR_PATH, qr_image)
