"""What a keyword rule left on a customer (a caution, special care), undone with its tag."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.models import Customer
from knowledge.model import KeywordRule


def _folded(rule: KeywordRule) -> set[str]:
    return {name.casefold() for name in rule.tags}


async def release(
    session: AsyncSession,
    external_userid: str,
    removed: Sequence[str],
    left: Sequence[str],
    rules: Sequence[KeywordRule],
) -> None:
    """Tags `removed` are gone and `left` remain: drop the cautions only removed tags carried,
    and clear special care when no special-care rule's tag and no caution remain.

    A caution of a rule without tags (or whose tag is still there) stays, and so does the
    special care it implies; the rules are those in force now.
    """
    gone = {n.casefold() for n in removed}
    touched = [r for r in rules if _folded(r) & gone]
    customer = await session.get(Customer, external_userid)
    if customer is None or not touched:
        return
    kept = {n.casefold() for n in left}

    def carried(rule: KeywordRule) -> bool:
        return bool(_folded(rule) & kept)

    still = {r.caution for r in rules if r.caution and carried(r)}
    drop = {r.caution for r in touched if r.caution and not carried(r)} - still
    notes = [n for n in (customer.caution or "").split("\n") if n and n not in drop]
    customer.caution = "\n".join(notes)
    cared = any(r.special_care for r in touched)
    if cared and not notes and not any(r.special_care and carried(r) for r in rules):
        customer.special_care = False
    await session.flush()
