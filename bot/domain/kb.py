"""The knowledge base inside the app: load at start-up, reload on change, in every worker.

One `LiveKnowledge` per worker under `app[KB]`. A reload in one worker is broadcast on the cache
channel `kb:reload`, so every worker rebuilds from the database and swaps its snapshot. Changes
made outside the server (`python -m knowledge import`) bump the stored KB revision, which every
worker polls for, so an import goes live without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.core.keys import CACHE, DB, INSTANCE, KB, KB_REVISION, SETTINGS
from bot.core.tasks import periodic_ctx
from bot.domain import proposals
from knowledge import live, misses, store
from knowledge.errors import EntryNotFoundError

logger = logging.getLogger(__name__)

RELOAD_CHANNEL = "kb:reload"


async def kb_ctx(app: web.Application) -> AsyncIterator[None]:
    """Warm the tokenizer, load the stored KB, and follow reloads."""
    knowledge = live.LiveKnowledge()
    await knowledge.initialize()
    app[KB] = knowledge
    app[KB_REVISION] = [-1]
    await _load(app)
    listener = asyncio.get_running_loop().create_task(_follow_reloads(app))
    yield
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener


async def _load(app: web.Application) -> live.Snapshot:
    """Rebuild this worker's snapshot from the database and swap it in."""
    async with app[DB]() as session:  # one read transaction: the revision matches the rows
        revision = await store.revision(session)
        kb = await store.load_kb(session)
        open_misses = await misses.open_questions(session)
    # The KB calibrates itself: its similar questions, its unanswered questions (misses) and a
    # built-in off-topic set decide its auto-reply threshold (knowledge/calibration.py).
    snapshot = await app[KB].load(kb, misses=open_misses)
    app[KB_REVISION][0] = revision
    return snapshot


async def refresh_if_changed(app: web.Application) -> bool:
    """Reload when the stored KB changed behind this worker's back (an import); True if so."""
    async with app[DB]() as session:
        stored = await store.revision(session)
    if stored == app[KB_REVISION][0]:
        return False
    logger.info("kb: stored revision %d differs from %d; reloading", stored, app[KB_REVISION][0])
    await _load(app)
    return True


# Every worker polls the revision (a one-row read) after kb_ctx has loaded the KB.
poll_ctx = periodic_ctx("kb revision poll", refresh_if_changed, lambda app: app[SETTINGS].kb_poll)


async def recalibrate(app: web.Application) -> None:
    """Redo this worker's calibration with the misses recorded since (new negatives)."""
    async with app[DB]() as session:
        open_misses = await misses.open_questions(session)
    snapshot = await app[KB].recalibrate(open_misses)
    logger.info("kb recalibrated: %s", snapshot.calibration.status)


# Not at start-up: kb_ctx has just calibrated.
recalibrate_ctx = periodic_ctx(
    "kb recalibration", recalibrate, lambda app: app[SETTINGS].kb_recalibrate, start_now=False
)


async def reload(app: web.Application) -> live.Snapshot:
    """Rebuild from the database here and tell every other worker to do the same."""
    snapshot = await _load(app)
    await _broadcast(app, {"kind": "reload"})
    return snapshot


async def add_similar(app: web.Application, entry_id: str, question: str) -> bool:
    """Store a rep-confirmed similar question and make every worker match it at once.

    Returns False when the question adds nothing new. Raises EntryNotFoundError.
    """
    async with app[DB].begin() as session:
        added = await store.add_similar_question(session, entry_id, question)
        revision = await store.revision(session)
    if added:
        await apply_similar(app, entry_id, question, revision)
    return added


async def apply_similar(app: web.Application, entry_id: str, question: str, revision: int) -> None:
    """After the commit that stored a similar question: swap it into every worker's index."""
    await app[KB].add_similar(entry_id, question)
    _advance(app, revision)
    await _broadcast(
        app, {"kind": "similar", "entry_id": entry_id, "question": question, "revision": revision}
    )


async def apply_change(app: web.Application, change: proposals.Change) -> None:
    """Apply a committed proposal decision to every worker's snapshot; never raises.

    A failure here leaves the stored KB ahead of the snapshots, which the revision poll fixes.
    """
    try:
        if change.kind == "similar":
            await apply_similar(app, change.entry_id, change.question, change.revision)
        elif change.kind == "reload":
            await reload(app)
    except Exception:  # noqa: BLE001 - the decision is committed; the poll catches up
        logger.exception("kb: applying a %s change failed; the revision poll will", change.kind)


def _advance(app: web.Application, revision: int) -> None:
    """After an incremental change: the snapshot matches `revision` if it matched the one before.

    Otherwise a change was missed, and the revision poll will rebuild from the database.
    """
    if app[KB_REVISION][0] == revision - 1:
        app[KB_REVISION][0] = revision


async def _broadcast(app: web.Application, message: dict[str, str | int]) -> None:
    payload = json.dumps({**message, "from": app[INSTANCE]}, ensure_ascii=False)
    await app[CACHE].publish(RELOAD_CHANNEL, payload)


async def _follow_reloads(app: web.Application) -> None:
    """Apply other workers' broadcasts; survive bad messages and cache outages."""
    while True:
        try:
            async for raw in app[CACHE].subscribe(RELOAD_CHANNEL):
                await _apply(app, raw)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a Redis blip must not end reload following
            logger.exception("kb reload listener failed; resubscribing")
            await asyncio.sleep(1.0)


async def _apply(app: web.Application, raw: str) -> None:
    try:
        message = json.loads(raw)
    except ValueError:
        logger.warning("kb reload: unreadable broadcast ignored")
        return
    if not isinstance(message, dict) or message.get("from") == app[INSTANCE]:
        return  # our own broadcast: already applied
    kind = message.get("kind")
    if kind == "similar":
        try:
            await app[KB].add_similar(str(message["entry_id"]), str(message["question"]))
            _advance(app, int(message.get("revision", -1)))
        except (KeyError, EntryNotFoundError):
            # This worker's snapshot differs (a reload is racing): rebuilding is always right.
            await _load(app)
    elif kind == "reload":
        await _load(app)
    logger.info("kb: applied %s broadcast from %s", kind, message.get("from"))
