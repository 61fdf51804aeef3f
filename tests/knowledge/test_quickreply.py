from __future__ import annotations

import pytest

from knowledge.model import KnowledgeBase
from knowledge.quickreply import QuickReplySearch, Viewer


@pytest.fixture
def search(kb: KnowledgeBase) -> QuickReplySearch:
    return QuickReplySearch.build(kb.quick_replies)


REP = Viewer("wangwu", ("20",))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tk", "refund-flow"),
        ("/hi", "hello"),
        ("退款", "refund-flow"),
        ("发货", "ship-time"),
        ("杭州", "ship-time"),
    ],
)
def test_query_ranking(search: QuickReplySearch, query: str, expected: str) -> None:
    assert search.search(query, viewer=REP)[0].reply.id == expected


def test_last_message_ranks_without_query(search: QuickReplySearch) -> None:
    hits = search.search(viewer=REP, last_message="你们什么时候发货？")
    assert hits[0].reply.id == "ship-time"


def test_last_message_breaks_ties(search: QuickReplySearch) -> None:
    hits = search.search("售后", viewer=REP, last_message="我想退款")
    assert hits[0].reply.id == "refund-flow"


def test_irrelevant_query_lists_nothing(search: QuickReplySearch) -> None:
    assert search.search("天气预报", viewer=REP) == []


@pytest.mark.parametrize(
    ("viewer", "visible"),
    [
        (Viewer("wangwu", ("20",)), {"hello", "refund-flow", "ship-time"}),
        (Viewer("wangwu", ("10", "20")), {"hello", "refund-flow", "ship-time", "dept"}),
        (Viewer("lisi"), {"hello", "refund-flow", "ship-time", "mine"}),
    ],
)
def test_scope(search: QuickReplySearch, viewer: Viewer, visible: set[str]) -> None:
    assert {h.reply.id for h in search.search(viewer=viewer, limit=50)} == visible
