"""Media: a reference always; with a directory set, a bounded fetch that resumes by indexbuf."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB
from bot.core.settings import Settings
from bot.domain.archive_models import ArchiveMedia
from bot.domain.models import Message
from bot.sandbox import fake_archive
from bot.sandbox.fake import FakeWeCom
from tests.archive.conftest import Client, keyring_for, puller
from tests.conftest import make_settings

CAP = 200_000


@pytest.fixture
def settings(db_path: Path, fake_server: TestServer, tmp_path: Path) -> Settings:
    """Media fetched into tmp_path/media, up to CAP bytes a file."""
    return make_settings(db_path, fake_server, archive_media_dir=str(tmp_path / "media"),
                         archive_media_max=CAP)  # fmt: skip


async def _media(client: Client) -> dict[str, ArchiveMedia]:
    async with client.app[DB]() as session:
        return {m.msgtype: m for m in await session.scalars(select(ArchiveMedia))}


async def test_media_are_references_fetched_within_the_cap_and_resumed(
    kb_client: Client, fake: FakeWeCom, tmp_path: Path
) -> None:
    photo = os.urandom(150_000)  # three of the fake's 64 KB chunks
    archive = fake.archive
    archive.add_media("wmmedia00001", "alice", "image", photo)
    archive.add_media("wmmedia00001", "alice", "file", os.urandom(1000), size=CAP + 1)
    archive.add_media("alice", "wmmedia00001", "voice", os.urandom(CAP + 10), size=500)
    archive.media_failures.extend([10001])  # the first chunk fails: the network
    p = puller(kb_client.app, fake, keyring_for(tmp_path, [1]))

    assert (await p.step()).stored == 3
    async with kb_client.app[DB]() as session:
        texts = sorted(m.text for m in await session.scalars(select(Message)))
    assert texts == ["[图片]", "[文件]", "[语音]"]
    rows = await _media(kb_client)
    assert rows["image"].status == "fetching"  # will be retried
    assert rows["file"].status == "too_large"  # announced over the cap: never fetched
    assert rows["voice"].status == "too_large"  # turned out over the cap: dropped
    assert not list((tmp_path / "media").glob("*.part"))

    # The next step resumes; a failure after the first chunk resumes from its indexbuf.
    archive.media_failures.clear()
    real_chunk = archive.media_chunk
    calls: list[str] = []

    def flaky(sdkfileid: str, indexbuf: str) -> fake_archive.MediaChunk:
        calls.append(indexbuf)
        if len(calls) == 2:
            raise fake_archive.ArchiveSDKError("GetMediaData", 10001)
        return real_chunk(sdkfileid, indexbuf)

    archive.media_chunk = flaky  # type: ignore[method-assign]
    await p.step()
    image = (await _media(kb_client))["image"]
    assert (image.status, image.fetched) == ("fetching", 65536)
    await p.step()
    image = (await _media(kb_client))["image"]
    assert image.status == "fetched"
    assert calls == ["", "65536", "65536", "131072"]  # resumed, not restarted
    assert await asyncio.to_thread(Path(image.path).read_bytes) == photo
    assert Path(image.path).parent == tmp_path / "media"
    assert not list((tmp_path / "media").glob("*.part"))
