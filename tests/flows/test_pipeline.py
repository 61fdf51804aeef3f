"""The inbound-customer-text pipeline: storage, idempotency, rules, matches, live event."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import func, select

from bot.core.keys import CACHE, DB
from bot.domain import pipeline
from bot.domain.models import Customer, CustomerTag, Escalation, Message
from bot.sandbox.fake import FakeWeCom
from tests.flows.conftest import ALLERGY_CAUTION, Client
from tests.helpers import sent_to


async def test_match_and_store(kb_client: Client) -> None:
    app = kb_client.app
    prepared = await pipeline.prepare(
        app, source="kf", external_userid="wmC1", text="什么时候发货呀", allow_auto_reply=True
    )
    async with app[DB].begin() as session:
        result = await pipeline.record(app, session, prepared, source_msgid="m1")
    assert not result.duplicate
    assert result.best is not None
    assert result.best.entry.id == "ship"
    assert result.decision == "auto"
    async with app[DB]() as session:
        row = await session.get(Message, result.message_id)
        assert row is not None
        assert row.matched_faq == "ship"
        assert row.source == "kf"


async def test_auto_is_only_a_suggestion_without_permission(kb_client: Client) -> None:
    result = await pipeline.handle_customer_text(
        kb_client.app, source="archive", external_userid="wmC1", text="什么时候发货"
    )
    assert result.decision == "suggest"


async def test_allergy_tags_notifies_once(kb_client: Client, fake: FakeWeCom) -> None:
    app = kb_client.app
    fake.add_contact("wmC2", name="小红", follow_user=["alice"])
    async with app[DB].begin() as session:
        session.add(Customer(external_userid="wmC2", name="小红"))
    from bot.domain import customers

    async with app[DB].begin() as session:
        await customers.upsert_follow(session, userid="alice", external_userid="wmC2")
    for _ in range(2):
        result = await pipeline.handle_customer_text(
            app,
            source="archive",
            external_userid="wmC2",
            text="我皮肤过敏了，脸上红肿",
            source_msgid="a1",
        )
    assert result.duplicate
    marks = fake.calls_to("externalcontact/mark_tag")
    assert len(marks) == 1
    notes = sent_to(fake, "alice")
    assert len(notes) == 1
    assert ALLERGY_CAUTION in notes[0]["json"]["text"]["content"]
    async with app[DB]() as session:
        customer = await session.get(Customer, "wmC2")
        assert customer is not None
        assert customer.special_care
        assert ALLERGY_CAUTION in customer.caution
        assert await session.scalar(select(func.count()).select_from(CustomerTag)) == 1


async def test_negated_does_nothing(kb_client: Client, fake: FakeWeCom) -> None:
    result = await pipeline.handle_customer_text(
        kb_client.app, source="sidebar", external_userid="wmC3", text="我不过敏", userid="alice"
    )
    assert result.rule_hits == ()
    assert result.actions_taken == ()
    assert not fake.calls_to("externalcontact/mark_tag")
    assert not sent_to(fake, "alice")


async def test_complaint_escalates_once(kb_client: Client, fake: FakeWeCom) -> None:
    app = kb_client.app
    fake.add_contact("wmC4", follow_user=["bob"])
    for n in range(2):
        await pipeline.handle_customer_text(
            app, source="sidebar", external_userid="wmC4", text=f"我要投诉你们{n}", userid="bob"
        )
    async with app[DB]() as session:
        assert await session.scalar(select(func.count()).select_from(Escalation)) == 1
    assert sent_to(fake, "lead1")  # the configured supervisor


async def test_live_event_published(kb_client: Client) -> None:
    app = kb_client.app
    messages = app[CACHE].subscribe(pipeline.sidebar_channel("wmC5"))
    waiter = asyncio.ensure_future(messages.__anext__())
    await asyncio.sleep(0)
    result = await pipeline.handle_customer_text(
        app, source="sidebar", external_userid="wmC5", text="怎么开发票", userid="alice"
    )
    payload = json.loads(await asyncio.wait_for(waiter, 2))
    await messages.aclose()
    assert payload["message_id"] == result.message_id
    assert payload["suggestions"][0]["entry_id"] == "invoice"
    assert payload["rule_hits"] == []
