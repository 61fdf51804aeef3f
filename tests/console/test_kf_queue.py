"""Page 8, the kf handover queue: a handover shows up live, supervisors claim it or assign it
within their departments (kf/service_state/trans to 3 via the outbox), WeCom's session end
takes it off."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB
from bot.domain.models import AuditLog
from bot.domain.ops_models import KfHandover
from bot.sandbox import demo
from tests.console import seed, seed_ops
from tests.console.conftest import SignIn
from tests.helpers import settle, texts_to

KF = "wkconsole0001"


async def _event(server: TestServer, event: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(
        server.make_url("/sandbox/wecom/_events"), json=event
    ) as resp:
        assert resp.status == 200, await resp.text()
        data: dict[str, Any] = await resp.json()
        return data


async def test_a_handover_appears_live_and_a_supervisor_claims_it(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["supervisor"])
    page = tab.page
    await page.goto(str(server.make_url("/console/kf")))
    assert await page.locator("#kf-rows tr[data-id]").count() == 1  # the seeded waiting one
    # A kf customer asks for a person: the bot hands over (to the queue: no servicers set).
    await _event(server, {"type": "kf_text", "open_kfid": KF, "external_userid": "wmkfnew01",
                          "text": "转人工"})  # fmt: skip
    await settle(server.app)
    fake = server.app[demo.FAKE]
    assert fake.state.kf_state[(KF, "wmkfnew01")]["service_state"] == 2
    async with server.app[DB]() as db:
        row = await db.scalar(select(KfHandover).where(
            KfHandover.external_userid == "wmkfnew01"))  # fmt: skip
    assert row is not None
    # The page shows it without a reload (its poll).
    new = page.locator(f"#kf-rows tr[data-id='{row.id}']")
    await new.wait_for(timeout=12_000)
    assert "转人工" in await new.inner_text()
    await new.locator("button:has-text('我来接待')").click()
    await page.wait_for_url("**/console/kf?saved=claim")
    await settle(server.app)
    session = fake.state.kf_state[(KF, "wmkfnew01")]
    assert (session["service_state"], session["servicer_userid"]) == (3, "sup2")
    # The page came back while the claim was still an effect on its way ("assigning"); once
    # WeCom has it, the next poll shows it held.
    claimed = page.locator(f"#kf-rows tr[data-id='{row.id}'][data-status=held]")
    await claimed.wait_for(timeout=12_000)
    assert "二组主管" in await claimed.inner_text()
    async with server.app[DB]() as db:
        audit = await db.scalar(select(AuditLog).where(AuditLog.action == "console:kf.claim"))
    assert audit is not None
    assert (audit.actor, audit.target) == ("sup2", str(row.id))
    # WeCom says the session ended: it leaves the queue at the next poll.
    fake.queue_kf_event(KF, {"event_type": "session_status_change", "open_kfid": KF,
                             "external_userid": "wmkfnew01", "change_type": 3})  # fmt: skip
    assert fake.callback_url
    status, _ = await fake.post_callback(fake.callback_url, fake.xml_kf_event(KF))
    assert status == 200
    await settle(server.app)
    await page.locator(f"#kf-rows tr[data-id='{row.id}']").wait_for(state="detached",
                                                                     timeout=12_000)


async def test_assign_within_the_supervisors_departments(
    server: TestServer, sign_in: SignIn
) -> None:
    fake = server.app[demo.FAKE]
    tab = await sign_in(seed.IDENTITIES["supervisor"])
    page = tab.page
    await page.goto(str(server.make_url("/console/kf")))
    options = await page.locator("#kf-rows select[name=servicer] option").all_inner_texts()
    assert not any("三组客服" in o for o in options)  # another department's member
    waiting = page.locator("#kf-rows tr[data-id]").first
    handover_id = await waiting.get_attribute("data-id")
    await waiting.locator("select[name=servicer]").select_option("rep2")
    await waiting.locator("button:has-text('分配')").click()
    await page.wait_for_url("**/console/kf?saved=assign")
    await settle(server.app)
    session = fake.state.kf_state[(KF, seed_ops.KF_CUSTOMER[0])]
    assert (session["service_state"], session["servicer_userid"]) == (3, "rep2")
    assert any("分配给你接待" in t for t in texts_to(fake, "rep2"))
    # Assigning to a member of another department is refused, and changes nothing.
    token = await tab.csrf(server)
    url = f"/console/kf/{handover_id}/assign"
    assert await tab.post(url, {"servicer": "rep3"}, token) == 403
    await settle(server.app)
    assert session["servicer_userid"] == "rep2"
