"""The audit log: who did what, when, with what result."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.models import AuditLog

# Column widths of audit_log; longer values are cut rather than failing the action.
_ACTION_MAX = 64
_TARGET_MAX = 128


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
    result: str = "ok",
) -> AuditLog:
    """Add one audit row (flushed with the caller's transaction)."""
    row = AuditLog(
        actor=actor,
        action=action[:_ACTION_MAX],
        target=target[:_TARGET_MAX],
        detail=detail or {},
        result=result[:16],
    )
    session.add(row)
    await session.flush()
    return row
