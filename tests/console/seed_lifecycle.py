"""The lifecycle pages' share of the console test org: tags, stages, an SOP rule with runs,
pool entries, moves and a refused take, with XSS payloads in every text field those pages show
and department 3's rows carrying DEPT3_SECRET (called from seed.org)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import utcnow
from bot.domain import audit
from bot.domain.lifecycle_models import (
    CustomerMove,
    CustomerStage,
    PoolEntry,
    SopRule,
    SopRun,
    StageChange,
)
from bot.domain.models import CustomerTag, Tag

CUSTOMER2, CUSTOMER3 = "wmcust2000001", "wmcust3000001"
# A paused rule whose every text is a payload (the resume route's sample).
RULE = "xss-rule"


async def lifecycle(session: AsyncSession, xss: str, xss_script: str, secret: str) -> None:
    """Seed what the SOP, pool, stage and customer pages show."""
    now = utcnow()
    session.add_all(
        [
            Tag(
                id="tag-xss", group_id="g-xss", group_name=f"意向{xss_script}", name=f"高意向{xss}"
            ),
            # Tag names are the corp's, seen by every supervisor: no department secret here.
            Tag(id="tag-dept3", group_id="g-xss", group_name="意向", name="三组专属标签"),
        ]
    )
    session.add(
        SopRule(
            id=RULE,
            name=f"规则{xss}",
            paused=True,
            created_at=now,
            updated_at=now,
            trigger={"kind": "tag_added", "tag": xss_script},
            conditions={"tags": [xss]},
            steps=[
                {
                    "delay": 0,
                    "window": "09:00-21:00",
                    "actions": [{"type": "task", "text": f"话术{xss}"}],
                }
            ],
        )
    )
    await session.flush()
    session.add_all(
        [
            CustomerTag(external_userid=CUSTOMER2, tag_id="tag-xss", added_by="rep2"),
            CustomerTag(external_userid=CUSTOMER3, tag_id="tag-dept3", added_by="rep3"),
            CustomerStage(external_userid=CUSTOMER2, stage="意向明确", changed_at=now),
            StageChange(
                external_userid=CUSTOMER2,
                from_stage="初步了解",
                to_stage="意向明确",
                by_kind="rep",
                by=xss,
                userid="rep2",
                at=now - timedelta(hours=1),
            ),
            CustomerStage(external_userid=CUSTOMER3, stage="报价阶段", changed_at=now),
            StageChange(
                external_userid=CUSTOMER3,
                from_stage="初步了解",
                to_stage="报价阶段",
                by_kind="rep",
                by="rep3",
                userid="rep3",
                at=now - timedelta(hours=1),
            ),
            SopRun(
                rule_id=RULE,
                external_userid=CUSTOMER2,
                userid="rep2",
                occurrence="seed",
                step=0,
                due_at=now - timedelta(hours=2),
                status="task",
                note=f"任务{xss}",
            ),
            SopRun(
                rule_id=RULE,
                external_userid=CUSTOMER2,
                userid="rep2",
                occurrence="seed2",
                step=0,
                due_at=now - timedelta(hours=3),
                status="sent",
                note=xss_script,
                done_by="rep2",
                done_at=now - timedelta(hours=1),
            ),
            SopRun(
                rule_id=RULE,
                external_userid=CUSTOMER3,
                userid="rep3",
                occurrence="seed",
                step=0,
                due_at=now - timedelta(hours=2),
                status="task",
                note=f"任务{secret}",
            ),
            PoolEntry(
                id=1,
                external_userid=CUSTOMER2,
                from_userid="rep2",
                reason=f"原因{xss}",
                entered_by_kind="supervisor",
                entered_by="sup2",
                entered_at=now - timedelta(hours=5),
            ),
            PoolEntry(
                id=2,
                external_userid=CUSTOMER3,
                from_userid="rep3",
                reason=f"原因{secret}",
                entered_by_kind="rule",
                entered_by="pool-rule",
                entered_at=now - timedelta(hours=5),
            ),
            CustomerMove(
                external_userid=CUSTOMER2,
                from_userid="rep2",
                to_userid="sup2",
                kind="assign",
                status="failed",
                reason=f"客户拒绝{xss}",
                by="sup2",
                at=now - timedelta(days=3),
            ),
            CustomerMove(
                external_userid=CUSTOMER3,
                from_userid="rep3",
                to_userid="rep3",
                kind="claim",
                status="failed",
                reason=f"拒绝{secret}",
                by="rep3",
                at=now - timedelta(days=3),
            ),
        ]
    )
    await audit.record(
        session,
        actor="sup2",
        action="pool_assign",
        target=CUSTOMER2,
        detail={"to": "rep2", "reason": f"企业微信拒绝{xss_script}"},
        result="failed",
    )
    await audit.record(
        session,
        actor="boss",
        action="pool_assign",
        target=CUSTOMER3,
        detail={"to": "rep3", "reason": f"企业微信拒绝{secret}"},
        result="failed",
    )
