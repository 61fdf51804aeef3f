"""Resolve what staff type ("张三", a remark, a phone tail, an external_userid) to a customer."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, PermissionDeniedError, UserError
from bot.domain import customers as customer_service
from bot.domain import staff as staff_service
from bot.domain.models import Customer, CustomerTag, FollowRelation, Staff, Tag

# A fuzzy hit must score at least this (rapidfuzz WRatio, 0-100) to count at all.
FUZZY_CUTOFF = 70
# The best fuzzy hit wins outright only when this far ahead of the runner-up.
FUZZY_LEAD = 12
# A phone tail is at least this many digits (shorter digit strings are too ambiguous).
PHONE_TAIL_MIN = 4
MAX_CHOICES = 9
_DIGITS = re.compile(r"\d{4,}")


@dataclass(frozen=True)
class Candidate:
    """One visible customer with how staff see it."""

    external_userid: str
    name: str
    remark: str
    rep: str
    description: str = ""
    rep_label: str = ""  # "张三（zhangsan）" once the rep's name is known

    def label(self, show_rep: bool) -> str:
        """ "张总（张三）" plus the rep for supervisors."""
        base = (
            f"{self.remark}（{self.name}）"
            if self.remark and self.remark != self.name
            else self.name
        )
        return f"{base} · {self.rep_label or self.rep}" if show_rep else base


class AmbiguousCustomerError(UserError):
    """Several customers match; the dispatcher offers them as /1../N choices."""

    code = "ambiguous"

    def __init__(self, ref: str, candidates: list[Candidate], show_rep: bool) -> None:
        lines = [f"有 {len(candidates)} 位客户匹配「{ref}」，请回复编号选择："]
        lines += [f"/{i} {c.label(show_rep)}" for i, c in enumerate(candidates, 1)]
        super().__init__("\n".join(lines))
        self.ref = ref
        self.candidates = candidates


async def visible(
    session: AsyncSession, viewer: Staff, *, exactly: str | None = None
) -> list[Candidate]:
    """Every customer the viewer may act on (one row per customer, newest relation first);
    with `exactly`, only those whose id, name or remark is that text (a cheap first look).

    Plain columns, not ORM objects: a rep may follow thousands of customers, and building an
    entity per row was most of a command's cost.
    """
    query = (
        select(
            Customer.external_userid, Customer.name, FollowRelation.remark,
            FollowRelation.userid, FollowRelation.description,
        )  # fmt: skip
        .join(Customer, Customer.external_userid == FollowRelation.external_userid)
        .where(FollowRelation.status == customer_service.ACTIVE)
        .order_by(FollowRelation.added_at.desc(), FollowRelation.id.desc())
    )
    if exactly is not None:
        query = query.where(
            or_(
                Customer.external_userid == exactly,
                Customer.name == exactly,
                FollowRelation.remark == exactly,
            )
        )
    team = await staff_service.team_userids(session, viewer)
    if team is not None:
        query = query.where(FollowRelation.userid.in_(team))
    rows = (await session.execute(query)).all()
    reps = await staff_service.labels(session, {row.userid for row in rows})
    seen: dict[str, Candidate] = {}
    for euid, name, remark, userid, description in rows:
        if euid not in seen:
            seen[euid] = Candidate(
                external_userid=euid, name=name or euid[-6:], remark=remark, rep=userid,
                description=description, rep_label=reps.get(userid, userid),
            )  # fmt: skip
    return list(seen.values())


def _phone_tail(c: Candidate, ref: str) -> bool:
    runs = _DIGITS.findall(f"{c.remark} {c.description}")
    return any(run.endswith(ref) for run in runs)


def match(candidates: list[Candidate], ref: str) -> list[Candidate]:
    """The best tier of matches for ref: exact id/name/remark, phone tail, substring, fuzzy."""
    ref = ref.strip()
    tiers: list[Callable[[Candidate], bool]] = [
        lambda c: c.external_userid == ref,
        lambda c: ref in (c.name, c.remark),
        lambda c: ref.isdigit() and len(ref) >= PHONE_TAIL_MIN and _phone_tail(c, ref),
        lambda c: ref.lower() in c.name.lower() or ref.lower() in c.remark.lower(),
    ]
    for tier in tiers:
        hits = [c for c in candidates if tier(c)]
        if hits:
            return hits
    scored = sorted(
        (
            (max(fuzz.WRatio(ref, c.name), fuzz.WRatio(ref, c.remark or c.name)), c)
            for c in candidates
        ),
        key=lambda pair: -pair[0],
    )
    scored = [(s, c) for s, c in scored if s >= FUZZY_CUTOFF]
    if not scored:
        return []
    best = scored[0][0]
    if len(scored) == 1 or best - scored[1][0] >= FUZZY_LEAD:
        return [scored[0][1]]
    return [c for s, c in scored if best - s < FUZZY_LEAD]


async def resolve(
    session: AsyncSession,
    viewer: Staff,
    ref: str,
    choices: Mapping[str, str] | None = None,
) -> Customer:
    """The one customer `ref` means among the viewer's own; ambiguity and strangers raise."""
    chosen = (choices or {}).get(ref)
    if chosen:
        return await customer_service.require_customer_access(session, viewer, chosen)
    # The common case, an exact name, remark or id, is answered by the index alone.
    hits = match(await visible(session, viewer, exactly=ref.strip()), ref)
    if not hits:
        hits = match(await visible(session, viewer), ref)
    if len(hits) == 1:
        return await customer_service.require_customer_access(
            session, viewer, hits[0].external_userid
        )
    if hits:
        show_rep = viewer.role != "rep"
        raise AmbiguousCustomerError(ref, hits[:MAX_CHOICES], show_rep)
    # Not among the viewer's own: say so plainly when the customer exists elsewhere.
    stranger = await session.scalar(
        select(Customer.external_userid).where(
            or_(Customer.external_userid == ref, Customer.name == ref)
        )
    )
    if stranger is not None:
        raise PermissionDeniedError(customer_service.NOT_YOURS)
    raise NotFoundError(f"在你的客户里找不到「{ref}」", chat_hint="可以用 /find 搜索")


async def search(
    session: AsyncSession, viewer: Staff, text: str, limit: int = 10
) -> list[Candidate]:
    """The viewer's customers matching text by name, remark, phone tail or tag name."""
    candidates = await visible(session, viewer)
    hits = match(candidates, text)
    tagged = set(
        await session.scalars(
            select(CustomerTag.external_userid)
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(Tag.name.contains(text.strip()), Tag.deleted.is_(False))
        )
    )
    ids = {c.external_userid for c in hits}
    hits += [c for c in candidates if c.external_userid in tagged and c.external_userid not in ids]
    return hits[:limit]
