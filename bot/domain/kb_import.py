"""The console's two-step KB import: an upload makes a preview; only its confirmation writes.

The uploaded file waits between the two steps in the shared cache (Redis with several workers,
so the confirmation may land on any of them; in-process otherwise) under a random token bound
to the admin's session: one pending upload per admin, gone after DRAFT_TTL. The preview records
a fingerprint of the stored sections it was computed against; the confirmation re-reads the
file, recomputes the fingerprint inside its transaction and refuses when the KB changed, so
what is written is exactly what was previewed.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.cache import Cache
from bot.core.errors import NotFoundError, UsageError
from bot.domain import audit, proposals
from bot.domain.kb_admin import SECTION_LABEL
from bot.domain.models import KbProposal
from knowledge import importplan, store
from knowledge import text as textmod
from knowledge.importplan import Mode, SectionPlan
from knowledge.io import Sections

# Long enough to read a preview and ask a colleague; short enough that a file does not linger.
DRAFT_TTL = 30 * 60
# The confirmation's summary, shown once on the page the confirmation redirects to.
DONE_TTL = 10 * 60
# A confirmation's hold on its upload (parsing a 20 MB workbook and writing take seconds).
CLAIM_TTL = 120
# Removed items listed by id and question/title in a preview (the counts cover the rest).
ABSENT_SHOWN = 20
LABEL_MAX = 80
MODE_LABEL = {"merge": "只新增和更新", "replace": "整体替换"}
EXPIRED = ("这次上传的预览已过期或不存在（预览保留 30 分钟，只对上传它的管理员有效），"
           "没有导入任何内容，请重新上传文件")  # fmt: skip
STALE = ("预览之后知识库又被修改过（可能是其他管理员刚改了内容，或客服的选择刚被采纳），"
         "为免覆盖这些修改，没有导入任何内容。请重新上传文件，查看新的预览后再确认")  # fmt: skip


class StaleImportError(UsageError):
    """The stored KB changed after the preview: the confirmation would not do what it showed."""

    code = "stale"
    status = 409


def draft_key(token: str) -> str:
    """Cache key of a pending upload."""
    return f"kb:import:draft:{token}"


def owner_key(actor: str) -> str:
    """Cache key naming an admin's pending upload (one at a time)."""
    return f"kb:import:owner:{actor}"


def claim_key(token: str) -> str:
    """Cache key held while a pending upload is being confirmed (a double submit waits out)."""
    return f"kb:import:claim:{token}"


def done_key(token: str) -> str:
    """Cache key of a confirmed import's summary."""
    return f"kb:import:done:{token}"


@dataclass(frozen=True, slots=True)
class Draft:
    """An uploaded, validated file waiting for its admin's confirmation."""

    token: str
    actor: str
    nonce: str  # the console session it belongs to
    name: str
    data: bytes
    fingerprint: str
    preview: dict[str, Any]


def _clip(value: str) -> str:
    return value if len(value) <= LABEL_MAX else value[:LABEL_MAX] + "…"


async def _from_reps(session: AsyncSession, lost: Collection[tuple[str, str]]) -> int:
    """How many of these (entry id, similar question) came from reps' accepted picks."""
    keys = {(entry_id, textmod.normalize(q)[: proposals.KEY_MAX]) for entry_id, q in lost}
    if not keys:
        return 0
    found = 0
    pairs = sorted(keys)
    for start in range(0, len(pairs), 500):  # bounded IN lists
        chunk = pairs[start : start + 500]
        found += len((await session.execute(
            select(KbProposal.id).where(
                tuple_(KbProposal.entry_id, KbProposal.question_key).in_(chunk),
                KbProposal.status == proposals.ACCEPTED,
            )
        )).all())  # fmt: skip
    return found


async def _section_preview(session: AsyncSession, p: SectionPlan) -> dict[str, Any]:
    return {
        "section": p.section, "label": SECTION_LABEL.get(p.section, p.section),
        "in_file": p.in_file, "added": len(p.added), "changed": len(p.changed),
        "unchanged": p.unchanged, "absent": len(p.absent),
        "absent_items": [{"id": i.id, "label": _clip(i.label)} for i in p.absent[:ABSENT_SHOWN]],
        "absent_similar": len(p.absent_similar),
        "absent_similar_reps": await _from_reps(session, p.absent_similar),
        "dropped_similar": len(p.dropped_similar),
        "dropped_similar_reps": await _from_reps(session, p.dropped_similar),
        "dropped_entries": len({entry_id for entry_id, _ in p.dropped_similar}),
    }  # fmt: skip


async def preview(session: AsyncSession, sections: Sections) -> tuple[str, dict[str, Any]]:
    """(fingerprint of the stored sections, the figures a preview shows); writes nothing."""
    if not sections:
        raise UsageError("文件里没有可导入的内容")
    current = await store.load_kb(session)
    plans = importplan.plan(current, sections)
    shown = [await _section_preview(session, p) for p in plans]
    return importplan.fingerprint(current, list(sections)), {
        "sections": shown, "absent": sum(s["absent"] for s in shown),
    }


async def save_draft(
    cache: Cache, *, actor: str, nonce: str, name: str, data: bytes, fingerprint: str,
    preview: dict[str, Any],
) -> str:
    """Keep an upload for its confirmation; replaces the admin's earlier pending upload."""
    token = secrets.token_urlsafe(24)
    earlier = await cache.get(owner_key(actor))
    if earlier:
        await cache.delete(draft_key(earlier))
    payload = {"actor": actor, "nonce": nonce, "name": name, "fingerprint": fingerprint,
               "preview": preview, "data": base64.b64encode(data).decode()}  # fmt: skip
    await cache.set(draft_key(token), json.dumps(payload, ensure_ascii=False), DRAFT_TTL)
    await cache.set(owner_key(actor), token, DRAFT_TTL)
    return token


async def load_draft(cache: Cache, token: str, *, actor: str, nonce: str) -> Draft:
    """The pending upload behind a token, only for the session that uploaded it."""
    payload = await _owned(cache, draft_key(token), token, actor=actor, nonce=nonce)
    if payload is None:
        # Another admin's token reads exactly like an expired one: it reveals nothing.
        raise NotFoundError(EXPIRED)
    return Draft(token=token, actor=actor, nonce=nonce, name=payload["name"],
                 data=base64.b64decode(payload["data"]), fingerprint=payload["fingerprint"],
                 preview=payload["preview"])  # fmt: skip


async def claim(cache: Cache, draft: Draft) -> None:
    """Take the one confirmation of a pending upload; a second, concurrent one is refused."""
    if not await cache.set_nx(claim_key(draft.token), "1", CLAIM_TTL):
        raise NotFoundError(EXPIRED)


async def release(cache: Cache, draft: Draft) -> None:
    """Give the confirmation back after a failure, so the admin can try again."""
    await cache.delete(claim_key(draft.token))


async def drop_draft(cache: Cache, draft: Draft) -> None:
    """Forget a pending upload (confirmed, cancelled or stale)."""
    await cache.delete(draft_key(draft.token))
    if await cache.get(owner_key(draft.actor)) == draft.token:
        await cache.delete(owner_key(draft.actor))


async def is_current(session: AsyncSession, draft: Draft) -> bool:
    """Whether the stored sections are still those the draft's preview was computed against."""
    names = [s["section"] for s in draft.preview["sections"]]
    return importplan.fingerprint(await store.load_kb(session), names) == draft.fingerprint


def mode_of(raw: str) -> Mode:
    """The import mode a form chose (merge, the safe one, unless replace is asked for)."""
    if raw not in ("", *importplan.MODES):
        raise UsageError("导入方式只能是“只新增和更新”或“整体替换”")
    return "replace" if raw == "replace" else "merge"


async def confirm(
    session: AsyncSession, sections: Sections, draft: Draft, mode: Mode
) -> dict[str, Any]:
    """Write the previewed import; StaleImportError when the stored KB changed since."""
    # Lock the revision row first: every KB write bumps it, so none lands between check and write.
    await session.execute(
        select(store.KBRevision).where(store.KBRevision.id == 1).with_for_update()
    )
    current = await store.load_kb(session)
    if importplan.fingerprint(current, list(sections)) != draft.fingerprint:
        raise StaleImportError(STALE)
    plans = importplan.plan(current, sections)
    await store.replace_kb(session, importplan.apply(current, sections, mode))
    summary = _summary(plans, mode)
    await audit.record(session, actor=draft.actor, action="console:kb_import",
                       target=draft.name[:100], detail=summary)  # fmt: skip
    return summary


def _summary(plans: Sequence[SectionPlan], mode: Mode) -> dict[str, Any]:
    return {"mode": mode, "sections": [{
        "section": p.section, "label": SECTION_LABEL.get(p.section, p.section),
        "added": len(p.added), "changed": len(p.changed), "unchanged": p.unchanged,
        "removed": p.removed(mode), "kept": len(p.absent) - p.removed(mode),
        "lost_similar": len(p.lost_similar(mode)),
    } for p in plans]}  # fmt: skip


async def save_done(cache: Cache, draft: Draft, summary: dict[str, Any]) -> None:
    """Keep a confirmed import's summary for the page the confirmation redirects to."""
    payload = {"actor": draft.actor, "nonce": draft.nonce, "name": draft.name, **summary}
    await cache.set(done_key(draft.token), json.dumps(payload, ensure_ascii=False), DONE_TTL)


async def load_done(cache: Cache, token: str, *, actor: str, nonce: str) -> dict[str, Any] | None:
    """A confirmed import's summary, for the session that confirmed it only."""
    return await _owned(cache, done_key(token), token, actor=actor, nonce=nonce)


async def _owned(
    cache: Cache, key: str, token: str, *, actor: str, nonce: str
) -> dict[str, Any] | None:
    """The cached payload under `key` if it belongs to this admin's session, else None."""
    raw = await cache.get(key) if 0 < len(token) <= 64 else None
    payload: dict[str, Any] | None = json.loads(raw) if raw else None
    if not payload or payload["actor"] != actor or payload["nonce"] != nonce:
        return None
    return payload
