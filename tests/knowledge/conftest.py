"""Fixtures: a small made-up knowledge base (a tea shop), written for these tests."""

from __future__ import annotations

import pytest

from knowledge.model import (
    Attachment,
    FaqEntry,
    KeywordRule,
    KnowledgeBase,
    QuickReply,
    Synonyms,
)

ENTRIES = (
    FaqEntry(
        id="ship",
        question="下单后多久发货",
        similar=("什么时候寄出", "几天能发出去"),
        answer="付款后24小时内发货。",
        keywords=("发货",),
        category="物流",
    ),
    FaqEntry(
        id="track",
        question="怎么查看物流信息",
        similar=("包裹到哪里了",),
        answer="在订单详情里查看物流。",
        category="物流",
    ),
    FaqEntry(
        id="refund",
        question="如何申请退款",
        similar=("我要退钱",),
        answer="在订单里点申请售后。",
        category="售后",
        attachment=Attachment("link", title="售后流程", url="https://example.com/refund"),
    ),
    FaqEntry(
        id="brew",
        question="乌龙茶用多少度的水冲泡",
        similar=("泡乌龙茶的水温",),
        answer="建议95度以上的沸水。",
        keywords=("乌龙茶",),
        category="冲泡",
    ),
    FaqEntry(
        id="storage",
        question="茶叶应该怎样保存",
        similar=("茶叶放冰箱可以吗",),
        answer="密封避光，绿茶可冷藏。",
        category="冲泡",
    ),
    FaqEntry(
        id="invoice",
        question="可以开发票吗",
        answer="可以，下单时填写抬头。",
        category="支付",
    ),
    FaqEntry(
        id="hidden",
        question="内部测试条目",
        answer="不应出现。",
        enabled=False,
    ),
)

REPLIES = (
    QuickReply(id="hello", title="欢迎语", content="您好，欢迎光临茶小铺！", shortcut="hi"),
    QuickReply(
        id="refund-flow",
        title="退款流程",
        content="在订单里点申请售后，寄回后退款。",
        category="售后",
        shortcut="tk",
    ),
    QuickReply(
        id="ship-time", title="发货时间", content="付款后24小时内从杭州发货。", category="物流"
    ),
    QuickReply(
        id="dept",
        title="华南会员福利",
        content="华南区会员加赠茶样。",
        scope="department",
        owner="10",
    ),
    QuickReply(
        id="mine",
        title="小李的签名",
        content="我是小李，随时为您服务。",
        scope="personal",
        owner="lisi",
    ),
)

RULES = (
    KeywordRule(
        id="allergy",
        name="过敏",
        phrases=("过敏",),
        tags=("过敏体质",),
        special_care=True,
        caution="提醒客户先少量试饮。",
        notify=True,
        priority=50,
    ),
    KeywordRule(
        id="complaint",
        name="投诉",
        phrases=("投诉", "差评"),
        tags=("投诉",),
        escalate=True,
        priority=100,
    ),
    KeywordRule(
        id="refund",
        name="退款",
        phrases=("退款", "退钱"),
        tags=("退款",),
        notify=True,
        priority=30,
    ),
    KeywordRule(
        id="refund-complaint",
        name="退款投诉",
        phrases=("投诉退款",),
        tags=("退款投诉",),
        escalate=True,
        priority=10,
    ),
)


@pytest.fixture
def kb() -> KnowledgeBase:
    """The tea-shop knowledge base."""
    return KnowledgeBase(ENTRIES, REPLIES, RULES, Synonyms({"乌龙茶": ("乌龙", "青茶")}))
