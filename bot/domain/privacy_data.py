"""What one customer's personal data is: the tables that hold it, its export, and the WeCom
changes that undo ours on their relations (see bot.domain.privacy)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.models import (
    Customer,
    CustomerTag,
    Escalation,
    FollowRelation,
    Followup,
    Message,
    Note,
    Tag,
)
from bot.domain.turn_models import CustomerTurn
from bot.outbox import effects

# Every table with rows about one customer, keyed by what an export calls them. A new table
# that holds personal data about a customer belongs here, so export and erasure cover it.
PER_CUSTOMER: dict[str, Any] = {
    "relations": FollowRelation,
    "tags": CustomerTag,
    "notes": Note,
    "followups": Followup,
    "escalations": Escalation,
    "messages": Message,
    "turns": CustomerTurn,  # first-response waits (times only)
}
_CUSTOMER_FIELDS = ("external_userid", "name", "avatar", "corp_name", "type", "gender",
                    "unionid", "special_care", "caution", "last_interaction_at", "created_at",
                    "updated_at")  # fmt: skip
_FIELDS = {
    "relations": ("userid", "remark", "description", "state", "add_way", "status", "added_at",
                  "ended_at"),
    "notes": ("userid", "text", "created_at"),
    "followups": ("userid", "note", "due_at", "done_at", "created_at"),
    "escalations": ("userid", "reason", "source", "status", "assignee", "resolution",
                    "created_at", "resolved_at"),
    "messages": ("source", "direction", "userid", "open_kfid", "text", "matched_faq",
                 "auto_replied", "created_at"),
    "turns": ("asked_at", "replied_at", "wait", "source"),
}  # fmt: skip


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _row(obj: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in fields}


async def collect(session: AsyncSession, customer: Customer, now: datetime) -> dict[str, Any]:
    """The export: the customer and every row about them, oldest first."""
    euid = customer.external_userid
    body: dict[str, Any] = {
        "exported_at": now.isoformat(),
        "customer": _row(customer, _CUSTOMER_FIELDS),
    }
    for name, fields in _FIELDS.items():
        model = PER_CUSTOMER[name]
        rows = await session.scalars(
            select(model).where(model.external_userid == euid).order_by(model.id)
        )
        body[name] = [_row(r, fields) for r in rows]
    tags = await session.execute(
        select(Tag.group_name, Tag.name, CustomerTag.added_by_kind, CustomerTag.added_by,
               CustomerTag.created_at)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(CustomerTag.external_userid == euid)
        .order_by(CustomerTag.id)
    )  # fmt: skip
    body["tags"] = [
        {"group": g, "name": n, "added_by_kind": k, "added_by": b, "created_at": _plain(at)}
        for g, n, k, b, at in tags
    ]
    return body


async def undo_in_wecom(
    session: AsyncSession, external_userid: str, relations: Sequence[FollowRelation]
) -> int:
    """Record the WeCom side of an erasure on each active relation: remove the corp tags we
    hold for the customer, clear the remark. How many changes were queued."""
    tag_ids = list(await session.scalars(
        select(CustomerTag.tag_id).where(CustomerTag.external_userid == external_userid)
    ))  # fmt: skip
    queued = 0
    group = f"tags:{external_userid}"  # after any tag change still queued for the customer
    for relation in relations:
        if relation.status != "active":
            continue
        if tag_ids:
            body = {"userid": relation.userid, "external_userid": external_userid,
                    "add_tag": [], "remove_tag": tag_ids}  # fmt: skip
            await effects.add(session, "mark_tag", body, group=group)
            queued += 1
        if relation.remark:
            body = {"userid": relation.userid, "external_userid": external_userid, "remark": ""}
            await effects.add(session, "remark", body, group=group)
            queued += 1
    return queued


def remove_exports(data_dir: str, ref: str) -> int:
    """Delete earlier export files of the customer (named by their reference hash)."""
    folder = Path(data_dir) / "exports"
    removed = 0
    for path in folder.glob(f"{ref.split(':')[1]}-*.json") if folder.is_dir() else ():
        path.unlink(missing_ok=True)
        removed += 1
    return removed
