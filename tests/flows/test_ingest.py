"""POST /ingest/messages: authenticated JSON lines of archive messages into the pipeline."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.core.keys import DB
from bot.domain.models import Message
from bot.sandbox.fake import FakeWeCom
from tests.conftest import INGEST_TOKEN
from tests.flows.conftest import Client
from tests.helpers import sent_to

AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}


def _line(msgid: str, sender: str, to: str, text: str, **extra: object) -> str:
    item = {
        "msgid": msgid,
        "action": "send",
        "from": sender,
        "tolist": [to],
        "roomid": "",
        "msgtime": 1700000000000,
        "msgtype": "text",
        "text": {"content": text},
    } | extra
    return json.dumps(item, ensure_ascii=False)  # fmt: skip


async def test_good_lines_kept_bad_lines_reported(kb_client: Client, fake: FakeWeCom) -> None:
    fake.add_contact("wmI1", name="小李", follow_user=["alice"])
    body = "\n".join([
        _line("m1", "wmI1", "alice", "我皮肤过敏了"),
        "{not json",
        json.dumps({"action": "send", "from": "wmI1"}),
        _line("m2", "alice", "wmI1", "好的，我帮您看看"),  # the rep's own message
        _line("m1", "wmI1", "alice", "我皮肤过敏了"),  # delivered again
        _line("m3", "wmI1", "alice", "怎么开发票"),
    ])  # fmt: skip
    resp = await kb_client.post("/ingest/messages", data=body.encode(), headers=AUTH)
    assert resp.status == 200
    report = await resp.json()
    assert (report["accepted"], report["duplicates"], report["skipped"]) == (2, 1, 1)
    assert [e["line"] for e in report["errors"]] == [2, 3]
    assert report["rule_hits"] == 1
    async with kb_client.app[DB]() as session:
        rows = list(await session.scalars(select(Message).order_by(Message.id)))
    assert [(r.source_msgid, r.userid) for r in rows] == [("m1", "alice"), ("m3", "alice")]
    assert rows[1].matched_faq == "invoice"
    assert len(fake.calls_to("externalcontact/mark_tag")) == 1
    assert len(sent_to(fake, "alice")) == 1
    assert not fake.calls_to("kf/send_msg")  # never a reply into a rep's chat


async def test_wrong_token_is_refused(kb_client: Client) -> None:
    line = _line("m9", "wmI2", "alice", "怎么开发票").encode()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": INGEST_TOKEN}):
        resp = await kb_client.post("/ingest/messages", data=line, headers=headers)
        assert resp.status == 401
    async with kb_client.app[DB]() as session:
        assert (await session.scalars(select(Message))).first() is None


async def test_all_bad_is_400(kb_client: Client) -> None:
    resp = await kb_client.post("/ingest/messages", data=b"nope\n[1]", headers=AUTH)
    assert resp.status == 400
    assert [e["line"] for e in (await resp.json())["errors"]] == [1, 2]
