"""An add_external_contact whose customer is already gone (externalcontact/get answers 84061)
was a handler failure: an ERROR traceback on each of five attempts, then a parked callback
for an admin to look at, though no retry could ever succeed. It is done after one attempt."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.keys import DB
from bot.domain.models import InboxItem
from bot.sandbox.fake import FakeWeCom
from tests.flows.conftest import Client, deliver


async def test_add_of_a_customer_already_gone_is_done_once(
    client: Client, fake: FakeWeCom
) -> None:
    xml = fake.xml_add_external_contact("alice", "wmGONE01", "", "CODE-GONE")
    await deliver(fake, xml)  # the fake has no such contact: externalcontact/get says 84061
    async with client.app[DB]() as session:
        rows = list(await session.scalars(select(InboxItem)))
        assert [(r.status, r.attempts, r.last_error) for r in rows] == [("done", 1, "")]
    assert len(fake.calls_to("externalcontact/get")) == 1


async def test_other_refusals_still_retry(client: Client, fake: FakeWeCom) -> None:
    fake.add_contact("wmBUSY01", name="小李", follow_user=["alice"])
    fake.fail_next("externalcontact/get", 60011)
    await deliver(fake, fake.xml_add_external_contact("alice", "wmBUSY01", "", "CODE-BUSY"))
    async with client.app[DB]() as session:
        rows = list(await session.scalars(select(InboxItem)))
        assert [(r.status, r.attempts) for r in rows] == [("pending", 1)]
