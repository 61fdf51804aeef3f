"""The knowledge base in the app: reload here, reload on another worker's broadcast."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.core.keys import DB, KB
from bot.domain import kb
from knowledge import store
from knowledge.model import FaqEntry
from tests.flows.conftest import TEST_KB, Client


async def test_reload_and_broadcast_from_another_worker(kb_client: Client) -> None:
    app = kb_client.app
    before = app[KB].snapshot
    assert before.kb.entry("ship") is not None
    extra = FaqEntry(id="gift", question="可以送礼包装吗", answer="可以。")
    async with app[DB].begin() as session:
        await store.replace_kb(session, replace(TEST_KB, entries=(*TEST_KB.entries, extra)))
    # Our own broadcast is ignored (already applied); another worker's triggers a rebuild.
    await kb._apply(app, json.dumps({"kind": "reload", "from": "another-worker"}))
    after = app[KB].snapshot
    assert after.version > before.version
    assert after.index.match("能送礼包装吗")[0].entry.id == "gift"


async def test_add_similar_is_matched_at_once(kb_client: Client) -> None:
    app = kb_client.app
    assert await kb.add_similar(app, "invoice", "发票抬头写错了能重开吗")
    assert not await kb.add_similar(app, "invoice", "发票抬头写错了能重开吗？")
    top = app[KB].snapshot.index.match("发票抬头写错了能重开吗")[0]
    assert top.entry.id == "invoice"
