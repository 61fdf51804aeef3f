"""A 1,000-record batch with three key versions and one nobody configured; a re-read."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.core.keys import DB
from bot.domain.archive_models import ArchiveCursor, ArchiveMedia
from bot.domain.models import CustomerTag, Message, Tag
from bot.outbox.model import Effect
from bot.sandbox.fake import FakeWeCom
from tests.archive.conftest import Client, cursor_row, drain, keyring_for, message_count, puller

CUSTOMERS = [f"wmcust{n:04d}" for n in range(20)]
TEXTS = ("什么时候发货", "怎么开发票", "我用了以后脸上过敏了", "好的谢谢")


def _fill(fake: FakeWeCom) -> tuple[dict[str, int], set[str]]:
    """1,000 records: customers' texts, reps' replies, images, and chats that are not ours;
    keys of versions 1-3 and, for every 50th record (24, 74, ...), version 9, which nobody
    configured."""
    counts = {"in": 0, "out": 0, "unknown": 0, "other": 0}
    allergic = set()
    archive = fake.archive
    for n in range(1000):
        customer, rep = CUSTOMERS[n % 20], ("alice", "bob")[n % 2]
        version = 9 if n % 25 == 24 else 1 + n % 3
        kind = n % 10
        if kind in (0, 1, 2, 3, 4):
            archive.add_text(customer, rep, TEXTS[n % 4], msgid=f"m{n}", version=version)
            key = "in"
            if "过敏" in TEXTS[n % 4] and version != 9:
                allergic.add(customer)
        elif kind in (5, 6, 7):
            archive.add_text(rep, customer, "您好，我来帮您看看", msgid=f"m{n}", version=version)
            key = "out"
        elif kind == 8:
            archive.add_text("alice", "bob", "内部沟通", msgid=f"m{n}", version=version)
            key = "other"
        else:
            archive.add_media(customer, rep, "image", b"\xff\xd8" + bytes(100))
            archive.records[-1]["publickey_ver"] = 1  # add_media seals with the current key
            version = 1
            key = "in"
        counts["unknown" if version == 9 else key] += 1
    return counts, allergic


async def test_thousand_records_three_key_versions_and_an_unknown_one(
    kb_client: Client, fake: FakeWeCom, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for customer in CUSTOMERS:
        fake.add_contact(customer, name=customer[-4:], follow_user=["alice"])
    expected, allergic_customers = _fill(fake)
    keys = keyring_for(tmp_path, [1, 2, 3])
    with caplog.at_level(logging.WARNING, logger="bot.archive"):
        outcomes = await drain(puller(kb_client.app, fake, keys))
    assert [o.state for o in outcomes] == ["pulled"] * 5 + ["idle"]
    row = await cursor_row(kb_client)
    assert row.seq == 1000
    assert row.skipped == expected["unknown"] == 20
    assert await message_count(kb_client, "in") == expected["in"]
    assert await message_count(kb_client, "out") == expected["out"]
    unknown = [r for r in caplog.records if "publickey_ver=9" in r.getMessage()]
    assert len(unknown) == 20
    assert all(r.levelno == logging.WARNING for r in unknown)
    assert not any("过敏" in r.getMessage() or "发货" in r.getMessage() for r in caplog.records)
    async with kb_client.app[DB]() as session:
        msgids = list(await session.scalars(select(Message.source_msgid)))
        allergic = set(await session.scalars(
            select(CustomerTag.external_userid).join(Tag, Tag.id == CustomerTag.tag_id)
            .where(Tag.name == "过敏体质")))  # fmt: skip
        marks = await session.scalar(
            select(func.count(Effect.id)).where(Effect.kind == "mark_tag"))  # fmt: skip
        media = await session.scalar(select(func.count(ArchiveMedia.id)))
        out = (await session.scalars(select(Message).where(Message.direction == "out"))).first()
    assert len(msgids) == len(set(msgids))
    assert allergic == allergic_customers
    assert len(allergic) == 3
    assert marks == len(allergic)  # one mark_tag per customer, not per message
    assert media == 100
    assert out is not None
    assert out.userid in ("alice", "bob")
    assert out.external_userid in CUSTOMERS

    # A re-read from the start (a crash just before the cursor moved, say) doubles nothing.
    async with kb_client.app[DB].begin() as session:
        await session.execute(update(ArchiveCursor).values(seq=0))
    again = await drain(puller(kb_client.app, fake, keys))
    assert sum(o.stored for o in again) == 0
    assert await message_count(kb_client, "in") == expected["in"]
    async with kb_client.app[DB]() as session:
        assert await session.scalar(
            select(func.count(Effect.id)).where(Effect.kind == "mark_tag")) == marks  # fmt: skip
