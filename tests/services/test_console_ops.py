"""The console's WeCom effects and services against the fake: 联系我 configs, corp tag edits,
kf assignment, and the handover rows' life (issue 12)."""

from __future__ import annotations

import dataclasses

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.db import utcnow
from bot.core.errors import UsageError, WeComError
from bot.core.settings import Settings
from bot.domain import contact_ways, kf_queue
from bot.domain.models import Staff
from bot.outbox import kinds
from bot.sandbox.fake import FakeWeCom
from bot.wecom.client import WeComClient


def _ctx(wecom: WeComClient) -> kinds.SendContext:
    return kinds.SendContext(wecom, Settings(), Clock())  # type: ignore[call-arg]


async def test_contact_way_calls_and_a_repeated_delete_counts_as_done(
    fake: FakeWeCom, fake_server: TestServer, wecom: WeComClient
) -> None:
    fake.add_member("rep2", "小二", [2])
    fake.add_member("rep3", "小三", [3])
    made = await wecom.add_contact_way(type=1, state="live", users=["rep2"], skip_verify=True)
    config_id = made["config_id"]
    assert made["qr_code"].startswith(str(fake_server.make_url("/_qr/")))
    async with aiohttp.ClientSession() as http, http.get(made["qr_code"]) as resp:
        assert resp.content_type == "image/png"
        assert (await resp.read()).startswith(b"\x89PNG")
    send = kinds.KINDS["contact_way.update"].send
    await send(_ctx(wecom), {"config_id": config_id, "users": ["rep3"], "skip_verify": False})
    assert fake.state.contact_ways[config_id]["user"] == ["rep3"]
    delete = kinds.KINDS["contact_way.delete"].send
    assert (await delete(_ctx(wecom), {"config_id": config_id})).outcome == "sent"
    # A resend after a crash between the call and recording it: settled, not parked.
    assert (await delete(_ctx(wecom), {"config_id": config_id})).outcome == "gone"


async def test_corp_tag_edit_and_delete(
    fake: FakeWeCom, fake_server: TestServer, wecom: WeComClient
) -> None:
    made = await wecom.add_corp_tag("偏好", ["清爽", "滋润"])
    group_id = made["tag_group"]["group_id"]
    first, second = (t["id"] for t in made["tag_group"]["tag"])
    await kinds.KINDS["corp_tag.edit"].send(_ctx(wecom), {"id": first, "name": "清爽型"})
    await kinds.KINDS["corp_tag.edit"].send(_ctx(wecom), {"id": group_id, "name": "肤感偏好"})
    group = fake.state.groups[group_id]
    assert group["group_name"] == "肤感偏好"
    assert group["tag"][0]["name"] == "清爽型"
    await kinds.KINDS["corp_tag.delete"].send(_ctx(wecom), {"tag_id": [second]})
    assert second not in fake.state.all_tags()
    # Deleting it again: WeCom's "invalid tagid", which the kind settles as gone.
    kind = kinds.KINDS["corp_tag.delete"]
    with pytest.raises(WeComError) as refused:
        await kind.send(_ctx(wecom), {"tag_id": [second]})
    assert kinds.verdict(kind, refused.value.errcode) == "settled"


async def test_kf_assign_reads_the_state_first(
    fake: FakeWeCom, fake_server: TestServer, wecom: WeComClient
) -> None:
    send = kinds.KINDS["kf.assign"].send
    payload = {"open_kfid": "wk1", "external_userid": "wm1", "servicer": "rep2",
               "notice": "分配给你"}  # fmt: skip
    done = await send(_ctx(wecom), payload)
    assert done.outcome == "servicer"
    assert [f.kind for f in done.then] == ["message"]
    assert (await send(_ctx(wecom), payload)).outcome == "already"
    fake.state.kf_state[("wk1", "wm1")]["service_state"] = 4
    assert (await send(_ctx(wecom), payload | {"servicer": "rep3"})).outcome == "ended"


async def test_handover_rows_open_move_and_end(session: AsyncSession) -> None:
    session.add(Staff(userid="rep2", name="小二", departments=[2]))
    now = utcnow()
    first = await kf_queue.record_handover(
        session, open_kfid="wk1", external_userid="wm1", message_id=None, reason="机器人没有把握",
        effect_id=None, now=now,
    )  # fmt: skip
    assert [i.id for i in await kf_queue.open_items(session, None)] == [first.id]
    # WeCom: a servicer took it from the queue.
    event = {"open_kfid": "wk1", "external_userid": "wm1", "change_type": 1,
             "new_servicer_userid": "rep2"}  # fmt: skip
    await kf_queue.on_status_change(session, event, now)
    [item] = await kf_queue.open_items(session, None)
    assert (item.status, item.servicer) == ("held", "rep2")
    # A supervisor of another department does not see it; one of rep2's does.
    assert await kf_queue.open_items(session, {"sup3"}) == []
    assert len(await kf_queue.open_items(session, {"rep2", "sup2"})) == 1
    with pytest.raises(UsageError, match="已在接待"):
        await kf_queue.assign(session, first.id, servicer="rep2", by="sup2", now=now)
    # A new handover of the same conversation closes the old row.
    second = await kf_queue.record_handover(
        session, open_kfid="wk1", external_userid="wm1", message_id=None, reason="客户要求人工",
        effect_id=None, now=now,
    )  # fmt: skip
    assert first.status == "ended"
    await kf_queue.on_status_change(session, {"open_kfid": "wk1", "external_userid": "wm1",
                                              "change_type": 3}, now)  # fmt: skip
    assert second.status == "ended"
    assert await kf_queue.open_items(session, None) == []


async def test_channel_input_is_checked_in_chinese() -> None:
    base = contact_ways.ChannelInput(
        state="ok-1", name="渠道", type=1, users=("rep2",), skip_verify=True, tags=(),
        tag_group="来源", template_id=None, remark="",
    )  # fmt: skip
    contact_ways.check_input(base)
    changes: tuple[tuple[dict[str, object], str], ...] = (
        ({"state": "有中文"}, "渠道标识"),
        ({"state": "x" * 31}, "渠道标识"),
        ({"users": ()}, "接待成员"),
        ({"users": ("a", "b")}, "单人码只能有一位"),
        ({"tags": ("长" * 31,)}, "渠道标签"),
    )
    for change, words in changes:
        with pytest.raises(UsageError, match=words):
            contact_ways.check_input(dataclasses.replace(base, **change))
