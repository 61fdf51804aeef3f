"""Auto-tag on phrases, driven through the kf callback (the customer's own words)."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from bot.core.keys import DB
from bot.domain.models import Customer, Escalation, KfCursor
from bot.sandbox.fake import FakeWeCom
from tests.flows.conftest import ALLERGY_CAUTION, Client, deliver
from tests.flows.test_kf import _customer_says
from tests.helpers import sent_to


async def test_allergy_tags_marks_care_and_tells_the_rep_once(
    kf_client: Client, fake: FakeWeCom
) -> None:
    fake.add_contact("wmT1", name="小红", follow_user=["alice"])
    await _customer_says(fake, "wmT1", "我皮肤过敏了")
    marks = fake.calls_to("externalcontact/mark_tag")
    assert [m["json"]["userid"] for m in marks] == ["alice"]
    assert [t["tag_name"] for t in fake.state.follow("alice", "wmT1")["tags"]] == ["过敏体质"]
    notes = sent_to(fake, "alice")
    assert len(notes) == 1
    assert ALLERGY_CAUTION in notes[0]["json"]["text"]["content"]
    async with kf_client.app[DB]() as session:
        customer = await session.get(Customer, "wmT1")
    assert customer is not None
    assert (customer.special_care, customer.caution) == (True, ALLERGY_CAUTION)
    # The same message read again (cursor lost) tags nothing more.
    async with kf_client.app[DB].begin() as session:
        await session.execute(delete(KfCursor))
    await deliver(fake, fake.xml_kf_event("wkKF001"))
    assert len(fake.calls_to("externalcontact/mark_tag")) == 1
    assert len(sent_to(fake, "alice")) == 1


async def test_negated_allergy_does_nothing(kf_client: Client, fake: FakeWeCom) -> None:
    fake.add_contact("wmT2", name="小蓝", follow_user=["alice"])
    for text in ("我不过敏", "没有过敏"):
        await _customer_says(fake, "wmT2", text)
    assert not fake.calls_to("externalcontact/mark_tag")
    assert not sent_to(fake, "alice")
    async with kf_client.app[DB]() as session:
        customer = await session.get(Customer, "wmT2")
    assert customer is not None
    assert not customer.special_care


async def test_complaint_escalates_to_the_supervisor(kf_client: Client, fake: FakeWeCom) -> None:
    fake.add_contact("wmT3", name="小绿", follow_user=["bob"])
    await _customer_says(fake, "wmT3", "我要投诉你们")
    await _customer_says(fake, "wmT3", "再不处理我打12315投诉")
    async with kf_client.app[DB]() as session:
        open_ones = await session.scalar(select(func.count()).select_from(Escalation))
    assert open_ones == 1  # one open escalation per customer and rule
    assert sent_to(fake, "lead1")
    assert "先道歉安抚" in sent_to(fake, "bob")[0]["json"]["text"]["content"]
