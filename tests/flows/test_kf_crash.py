"""A kf message stored but never answered is answered once when its page is re-read."""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.core.keys import DB
from bot.domain import pipeline
from bot.domain.models import KfCursor, Message
from bot.sandbox.fake import FakeWeCom
from tests.flows.conftest import Client, deliver
from tests.flows.test_kf import KF, _sends


async def test_a_message_the_crash_left_unanswered_is_answered_once_on_re_read(
    kf_client: Client, fake: FakeWeCom
) -> None:
    fake.queue_kf_text(KF, "wmC1", "怎么开发票")
    await deliver(fake, fake.xml_kf_event(KF))
    assert len(_sends(fake)) == 1

    # A message stored but never answered (what a crash left before storing and answering
    # shared one transaction), and the cursor of the page before it.
    msgid = fake.queue_kf_text(KF, "wmC2", "客服几点上班")
    app = kf_client.app
    prepared = await pipeline.prepare(
        app, source="kf", external_userid="wmC2", text="客服几点上班", allow_auto_reply=True
    )
    async with app[DB].begin() as session:
        await pipeline.record(app, session, prepared, open_kfid=KF, source_msgid=msgid)
    async with kf_client.app[DB].begin() as session:
        await session.execute(delete(KfCursor))

    await deliver(fake, fake.xml_kf_event(KF))  # the restarted worker re-reads both messages
    sends = _sends(fake)
    assert len(sends) == 2  # the unanswered one now, the first never again

    await deliver(fake, fake.xml_kf_event(KF))
    assert len(_sends(fake)) == 2
    async with kf_client.app[DB]() as session:
        rows = list((await session.scalars(select(Message).where(Message.source == "kf"))).all())
    inbound = [m for m in rows if m.direction == "in"]
    assert len(inbound) == 2
    assert all(m.answered_at is not None for m in inbound)
