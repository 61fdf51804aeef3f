"""One customer's personal data (PIPL): export it, and erase it on request.

Erasure deletes the customer and everything about them here (relations, tags, notes,
follow-ups, escalations, messages), the stored callbacks, delivered effects and audit details
that name them; in WeCom it removes our corp tags from each relation and clears the remark,
through the outbox (WeCom offers no way to delete the relation itself). What remains is one
audit row saying an erasure happened, keyed by a hash of the id, without the personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, UsageError
from bot.domain import audit
from bot.domain import privacy_data as data
from bot.domain.models import AuditLog, Customer, FollowRelation, InboxItem, Message
from bot.outbox.model import DISCARDED, DONE, PARKED, Effect

# How long an erasure's confirmation code is good for.
CODE_TTL = timedelta(minutes=5)
REQUESTED, ERASED, EXPORTED = "customer_erase_requested", "customer_erased", "customer_export"
# Names and remarks shorter than this are not searched for in logs (too many false hits).
_MIN_NEEDLE = 2


def subject_ref(external_userid: str) -> str:
    """How the audit log names an erased customer: a hash, so it holds no personal data but
    an admin given the id can still show that the erasure happened."""
    return "customer:" + hashlib.sha256(external_userid.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Holdings:
    """How much we hold about one customer, by kind."""

    relations: int
    tags: int
    notes: int
    followups: int
    escalations: int
    messages: int
    turns: int = 0  # first-response waits, derived from the messages (not shown apart)

    def describe(self) -> str:
        """A short Chinese summary for an admin."""
        return (
            f"跟进关系 {self.relations}、标签 {self.tags}、备注 {self.notes}、"
            f"待办 {self.followups}、升级 {self.escalations}、消息 {self.messages}"
        )


async def _customer(session: AsyncSession, external_userid: str) -> Customer:
    customer = await session.get(Customer, external_userid)
    if customer is None:
        raise NotFoundError(f"没有这位客户：{external_userid}")
    return customer


async def holdings(session: AsyncSession, external_userid: str) -> Holdings:
    """Counts of what an export would contain and an erasure would delete."""
    counts = {}
    for name, model in data.PER_CUSTOMER.items():
        counts[name] = await session.scalar(
            select(func.count()).select_from(model).where(model.external_userid == external_userid)
        ) or 0  # fmt: skip
    return Holdings(**counts)


async def export(session: AsyncSession, external_userid: str, now: datetime) -> dict[str, Any]:
    """Everything we hold about the customer, as JSON-ready data."""
    customer = await _customer(session, external_userid)
    return await data.collect(session, customer, now)


def write_export(data_dir: str, external_userid: str, body: dict[str, Any], now: datetime) -> Path:
    """Write an export under data_dir/exports/, readable by the server's user only."""
    folder = Path(data_dir) / "exports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{subject_ref(external_userid).split(':')[1]}-{now:%Y%m%dT%H%M%SZ}.json"
    path = (folder / name).resolve()
    write_file(str(path), json.dumps(body, ensure_ascii=False, indent=1))
    return path


def write_file(path: str, text: str) -> None:
    """Write personal data to a file only the server's user can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


async def record_export(
    session: AsyncSession, *, actor: str, external_userid: str, where: str, held: Holdings
) -> None:
    """Audit an export (who, whose data, where it went)."""
    await audit.record(session, actor=actor, action=EXPORTED, target=external_userid,
                       detail={"where": where, **asdict(held)})  # fmt: skip


def _code_hash(external_userid: str, code: str) -> str:
    return hashlib.sha256(f"{external_userid}|{code}".encode()).hexdigest()


async def request_erasure(
    session: AsyncSession, *, actor: str, external_userid: str, now: datetime
) -> str:
    """Audit the request and return the code that confirms it (valid CODE_TTL, this actor)."""
    await _customer(session, external_userid)
    code = f"{secrets.randbelow(10**6):06d}"
    expires = (now + CODE_TTL).isoformat()
    detail = {"code": _code_hash(external_userid, code), "expires_at": expires}
    await audit.record(
        session, actor=actor, action=REQUESTED, target=subject_ref(external_userid), detail=detail
    )
    return code


async def confirm_erasure(
    session: AsyncSession, *, actor: str, external_userid: str, code: str, now: datetime,
    data_dir: str,
) -> Holdings:  # fmt: skip
    """Erase, if `code` is this actor's latest, unexpired confirmation code for the customer."""
    await _customer(session, external_userid)
    asked = await session.scalar(
        select(AuditLog)
        .where(AuditLog.actor == actor, AuditLog.action == REQUESTED,
               AuditLog.target == subject_ref(external_userid))
        .order_by(AuditLog.id.desc())
        .limit(1)
    )  # fmt: skip
    expires = datetime.fromisoformat(str(asked.detail.get("expires_at"))) if asked else None
    if asked is None or expires is None or now > expires:
        raise UsageError("确认码已过期或不存在，请重新发起删除")
    if not hmac.compare_digest(str(asked.detail.get("code")), _code_hash(external_userid, code)):
        raise UsageError("确认码不对，请核对后再发送")
    return await erase(session, actor=actor, external_userid=external_userid, data_dir=data_dir)


def _needles(customer: Customer, relations: Sequence[FollowRelation]) -> list[str]:
    """LIKE patterns for texts that name the customer: as typed, and as JSON escapes them."""
    words = {customer.external_userid, customer.unionid, customer.name}
    words |= {r.remark for r in relations}
    patterns: set[str] = set()
    for word in (w for w in words if len(w) >= _MIN_NEEDLE):
        for form in (word, json.dumps(word)[1:-1]):
            escaped = form.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            patterns.add(f"%{escaped}%")
    return sorted(patterns)


async def erase(
    session: AsyncSession, *, actor: str, external_userid: str, data_dir: str
) -> Holdings:
    """Erase the customer's personal data here, and what WeCom allows there (via the outbox)."""
    customer = await _customer(session, external_userid)
    held = await holdings(session, external_userid)
    relations = list(await session.scalars(
        select(FollowRelation).where(FollowRelation.external_userid == external_userid)
    ))  # fmt: skip
    needles = _needles(customer, relations)
    queued = await data.undo_in_wecom(session, external_userid, relations)
    for model in data.PER_CUSTOMER.values():
        await session.execute(delete(model).where(model.external_userid == external_userid))
    await session.execute(delete(Customer).where(Customer.external_userid == external_userid))

    def mentions(column: Any) -> Any:
        return or_(*(cast(column, String).like(n, escape="\\") for n in needles))

    # Plumbing that names them: stored callbacks and finished effects (pending ones, such as
    # the WeCom changes just queued, still need their payloads).
    await session.execute(delete(InboxItem).where(
        InboxItem.status.in_(("done", "parked")), mentions(InboxItem.payload)
    ))  # fmt: skip
    await session.execute(delete(Effect).where(
        Effect.status.in_((DONE, DISCARDED, PARKED)), mentions(Effect.payload)
    ))  # fmt: skip
    ref = subject_ref(external_userid)
    await session.execute(
        update(AuditLog)
        .where(or_(AuditLog.target == external_userid, mentions(AuditLog.target),
                   mentions(AuditLog.detail)))
        .values(target=ref, detail={"erased": True})
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    removed = data.remove_exports(data_dir, ref)
    detail = {**asdict(held), "wecom_changes": queued, "exports": removed}
    await audit.record(session, actor=actor, action=ERASED, target=ref, detail=detail)
    return held


async def purge_message_texts(session: AsyncSession, *, before: datetime, limit: int) -> int:
    """Blank up to `limit` message texts older than `before` (SIDEKICK_RETAIN_MESSAGE_DAYS);
    the rows stay for the statistics (matched FAQ, score, auto-replied)."""
    ids = select(Message.id).where(Message.created_at < before, Message.text != "").limit(limit)
    result = await session.execute(
        update(Message).where(Message.id.in_(ids)).values(text="")
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return int(getattr(result, "rowcount", 0) or 0)

