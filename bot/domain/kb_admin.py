"""Editing the knowledge base from the console: entries, rules, quick replies, synonyms, files.

Services take the session first and never commit; each change is audited in the same
transaction and bumps the KB revision. After the commit the caller publishes it to every worker
with `bot.domain.kb.reload` (the revision poll catches a worker that misses the broadcast).
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, UsageError
from bot.domain import audit
from knowledge import io, store, store_edit
from knowledge.errors import ImportValidationError, KnowledgeError, UnreadableFileError
from knowledge.model import FaqEntry, KeywordRule, KnowledgeBase, QuickReply, Synonyms

# Audit details keep text short: the row says what changed, not the whole KB.
_CLIP = 80
UPLOAD_MAX = 20 * 1024 * 1024
EXPORT_FORMATS = {"xlsx": ".xlsx", "yaml": ".yaml", "csv": ".csv"}
SECTION_LABEL = {"entries": "问答条目", "quick_replies": "话术", "rules": "关键词规则",
                 "synonyms": "同义词"}  # fmt: skip
ERRORS_SHOWN = 20
T = TypeVar("T")


def _clip(value: str) -> str:
    return value if len(value) <= _CLIP else value[:_CLIP] + "…"


def _entry_summary(entry: FaqEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"question": _clip(entry.question), "answer": _clip(entry.answer),
            "similar": len(entry.similar), "enabled": entry.enabled,
            "attachment": entry.attachment.kind if entry.attachment else ""}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Kind(Generic[T]):
    """How one kind of KB item is read, written, summarised and named in audits and errors."""

    stored: Callable[[AsyncSession, str], Awaitable[T | None]]
    save: Callable[[AsyncSession, T], Awaitable[Any]]
    delete: Callable[[AsyncSession, str], Awaitable[bool]]
    summary: Callable[[T | None], dict[str, Any] | None]
    action: str  # console:<action>_create / _edit / _delete
    taken: str  # the id is in use ({id} filled in)
    vanished: str  # an edit of an item deleted meanwhile
    missing: str  # a delete of an item that is not there


async def _save(
    kind: _Kind[T], session: AsyncSession, item: T, item_id: str, *, actor: str, creating: bool
) -> None:
    before = await kind.stored(session, item_id)
    if creating and before is not None:
        raise UsageError(kind.taken.format(id=item_id))
    if not creating and before is None:
        raise NotFoundError(kind.vanished)
    await kind.save(session, item)
    await audit.record(
        session, actor=actor, action=f"console:{kind.action}_{'create' if creating else 'edit'}",
        target=item_id, detail={"before": kind.summary(before), "after": kind.summary(item)},
    )  # fmt: skip


async def _delete(kind: _Kind[T], session: AsyncSession, item_id: str, *, actor: str) -> None:
    before = await kind.stored(session, item_id)
    if before is None or not await kind.delete(session, item_id):
        raise NotFoundError(kind.missing)
    await audit.record(session, actor=actor, action=f"console:{kind.action}_delete",
                       target=item_id, detail={"before": kind.summary(before)})  # fmt: skip


def _rule_summary(rule: KeywordRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    data = asdict(rule)
    data["caution"] = _clip(rule.caution)
    data.pop("id")
    return data


async def _stored_rule(session: AsyncSession, rule_id: str) -> KeywordRule | None:
    row = await store_edit.get_rule(session, rule_id)
    if row is None:
        return None
    return KeywordRule(
        id=row.id, name=row.name, phrases=tuple(row.phrases), tags=tuple(row.tags),
        special_care=row.special_care, caution=row.caution, notify=row.notify,
        escalate=row.escalate, priority=row.priority, negations=tuple(row.negations or ()),
    )  # fmt: skip


def _reply_summary(reply: QuickReply | None) -> dict[str, Any] | None:
    if reply is None:
        return None
    return {"title": _clip(reply.title), "content": _clip(reply.content),
            "category": reply.category, "scope": reply.scope, "owner": reply.owner}  # fmt: skip


async def _stored_reply(session: AsyncSession, reply_id: str) -> QuickReply | None:
    row = await store_edit.get_quick_reply(session, reply_id)
    if row is None:
        return None
    return QuickReply(id=row.id, title=row.title, content=row.content, category=row.category,
                      scope=row.scope, owner=row.owner,  # type: ignore[arg-type]
                      shortcut=row.shortcut)  # fmt: skip


_ENTRY = _Kind(
    store_edit.get_entry, store_edit.save_entry, store_edit.delete_entry, _entry_summary,
    "kb_entry", "编号 {id} 已被另一个条目使用，请换一个", "这个知识条目已不存在（可能刚被删除）",
    "这个知识条目已不存在",
)  # fmt: skip
_RULE = _Kind(
    _stored_rule, store_edit.save_rule, store_edit.delete_rule, _rule_summary,
    "rule", "编号 {id} 已被另一条规则使用，请换一个", "这条规则已不存在（可能刚被删除）",
    "这条规则已不存在",
)  # fmt: skip
_REPLY = _Kind(
    _stored_reply, store_edit.save_quick_reply, store_edit.delete_quick_reply, _reply_summary,
    "reply", "编号 {id} 已被另一条话术使用，请换一个", "这条话术已不存在（可能刚被删除）",
    "这条话术已不存在",
)  # fmt: skip


async def save_entry(
    session: AsyncSession, entry: FaqEntry, *, actor: str, creating: bool
) -> None:
    """Create (the id must be new) or update (it must exist) an FAQ entry."""
    await _save(_ENTRY, session, entry, entry.id, actor=actor, creating=creating)


async def delete_entry(session: AsyncSession, entry_id: str, *, actor: str) -> None:
    """Delete an FAQ entry and its similar questions."""
    await _delete(_ENTRY, session, entry_id, actor=actor)


async def save_rule(
    session: AsyncSession, rule: KeywordRule, *, actor: str, creating: bool
) -> None:
    """Create or update a keyword rule."""
    await _save(_RULE, session, rule, rule.id, actor=actor, creating=creating)


async def delete_rule(session: AsyncSession, rule_id: str, *, actor: str) -> None:
    """Delete a keyword rule."""
    await _delete(_RULE, session, rule_id, actor=actor)


async def save_quick_reply(
    session: AsyncSession, reply: QuickReply, *, actor: str, creating: bool
) -> None:
    """Create or update a quick reply."""
    await _save(_REPLY, session, reply, reply.id, actor=actor, creating=creating)


async def delete_quick_reply(session: AsyncSession, reply_id: str, *, actor: str) -> None:
    """Delete a quick reply."""
    await _delete(_REPLY, session, reply_id, actor=actor)


async def save_synonyms(session: AsyncSession, table: Synonyms, *, actor: str) -> None:
    """Replace the KB's domain synonyms."""
    before = (await store.load_kb(session)).synonyms
    await store_edit.replace_synonyms(session, table)
    await audit.record(session, actor=actor, action="console:kb_synonyms", target="synonyms",
                       detail={"groups_before": len(before.groups),
                               "groups_after": len(table.groups)})  # fmt: skip


def read_upload(name: str, data: bytes) -> dict[str, list[Any]]:
    """Parse an uploaded KB file (blocking; run it in a thread); UsageError lists problems."""
    suffix = Path(name).suffix.lower()
    if suffix not in io.FORMATS:
        raise UsageError("只支持 .xlsx、.csv、.yaml 文件")
    if len(data) > UPLOAD_MAX:
        raise UsageError("文件太大：最多 20 MB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            return io.read_sections(path)
        except ImportValidationError as exc:
            # Named as the admin's file, not the temporary copy it was read from.
            own = Path(name).name.replace(":", "：") or path.name
            shown = [str(replace(e, file=own + e.file[len(path.name):])
                         if e.file.startswith(path.name) else e)
                     for e in exc.errors[:ERRORS_SHOWN]]  # fmt: skip
            more = len(exc.errors) - len(shown)
            tail = f"\n……另有 {more} 处问题" if more > 0 else ""
            raise UsageError("文件有问题，没有导入任何内容：\n" + "\n".join(shown) + tail) \
                from None
        except UnreadableFileError:
            raise UsageError("文件不是有效的 Excel（.xlsx）文件，可能已损坏或只是改了扩展名；"
                             "请在 Excel 里另存为 .xlsx 后再导入，没有导入任何内容") from None
        except KnowledgeError as exc:
            raise UsageError(f"文件无法读取，没有导入任何内容：{exc}") from None


def export_bytes(kb: KnowledgeBase, fmt: str, section: str) -> tuple[str, bytes]:
    """(file name, content) of an export (blocking: XLSX takes a moment on a large KB)."""
    suffix = EXPORT_FORMATS.get(fmt)
    if suffix is None:
        raise UsageError("导出格式只能是 xlsx、yaml 或 csv")
    if section not in SECTION_LABEL:
        raise UsageError("请选择要导出的内容")
    name = f"knowledge-{section}{suffix}" if suffix == ".csv" else f"knowledge{suffix}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        io.write_kb(path, kb, section=section)
        return name, path.read_bytes()
