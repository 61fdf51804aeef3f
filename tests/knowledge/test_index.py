from __future__ import annotations

import pytest

from knowledge import index as index_module
from knowledge.confidence import DEFAULT_MODEL, ConfidenceModel
from knowledge.demo import load_demo
from knowledge.errors import EntryNotFoundError
from knowledge.index import KnowledgeIndex
from knowledge.model import FaqEntry, KnowledgeBase


@pytest.fixture
def index(kb: KnowledgeBase) -> KnowledgeIndex:
    return KnowledgeIndex.build(kb)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("下单以后多久能发货", "ship"),
        ("什么时候发货呀", "ship"),
        ("怎样查询物流", "track"),
        ("我的包裹到哪了", "track"),
        ("怎么申请退款？", "refund"),
        ("我想退钱", "refund"),
        ("乌龙用多少度水泡", "brew"),  # synonym from the KB: 乌龙 -> 乌龙茶
        ("青茶的水温", "brew"),
        ("茶叶怎么保存比较好", "storage"),
        ("能开發票嗎", "invoice"),  # traditional script
    ],
)
def test_match_top1(index: KnowledgeIndex, query: str, expected: str) -> None:
    assert index.match(query)[0].entry.id == expected


def test_match_shape(index: KnowledgeIndex) -> None:
    matches = index.match("多久发货", limit=2)
    assert len(matches) <= 2
    assert matches[0].matched_question in matches[0].entry.questions
    assert all(0.0 <= m.confidence <= 1.0 for m in matches)
    assert matches == sorted(matches, key=lambda m: -m.score)


def test_similar_question_counts_as_entry(index: KnowledgeIndex) -> None:
    top = index.match("泡乌龙茶的水温")[0]
    assert (top.entry.id, top.matched_question) == ("brew", "泡乌龙茶的水温")


def test_disabled_entries_are_not_matched(index: KnowledgeIndex) -> None:
    assert all(m.entry.id != "hidden" for m in index.match("内部测试条目"))


def test_empty_query_and_empty_index(index: KnowledgeIndex) -> None:
    assert index.match("？？") == []
    assert KnowledgeIndex.build([]).match("发货") == []


def test_exact_question_is_confident(index: KnowledgeIndex) -> None:
    assert index.match("乌龙茶用多少度的水冲泡")[0].confidence > 0.9


def test_unrelated_query_is_not_confident(index: KnowledgeIndex) -> None:
    matches = index.match("明天北京天气怎么样")
    assert not matches or matches[0].confidence < 0.5


def test_add_similar_returns_new_index(index: KnowledgeIndex) -> None:
    query = "快递单号给我一下"
    updated = index.add_similar("track", query)
    assert updated.match(query)[0].entry.id == "track"
    assert updated.match(query)[0].confidence > 0.9
    assert len(updated) == len(index) + 1
    assert updated.add_similar("track", query) is updated  # already there
    with pytest.raises(EntryNotFoundError):
        index.add_similar("nope", query)


def test_deterministic(kb: KnowledgeBase) -> None:
    first = KnowledgeIndex.build(kb).match("怎么退款发货", limit=5)
    second = KnowledgeIndex.build(kb).match("怎么退款发货", limit=5)
    assert first == second


def test_postings_walk_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # A term in every entry must not make a query touch every entry.
    entries = [FaqEntry(id=f"e{i}", question=f"发货问题{i:04d}号", answer="a") for i in range(300)]
    monkeypatch.setattr(index_module, "TERM_POSTINGS_CAP", 50)
    monkeypatch.setattr(index_module, "QUERY_POSTINGS_BUDGET", 120)
    built = KnowledgeIndex.build(entries)
    assert built.match("发货问题0042号")[0].entry.id == "e42"


def test_bounded_walk_keeps_scores_exact(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With tiny caps most terms are counted in the rerank instead of walked: the scores of
    # the entries found either way must be the same.
    index = KnowledgeIndex.build(kb)
    queries = ["怎么申请退款", "乌龙茶用多少度的水冲泡", "快递到哪了发货", "茶叶保存"]
    full = {q: {m.entry.id: m.score for m in index.match(q, limit=10)} for q in queries}
    monkeypatch.setattr(index_module, "TERM_POSTINGS_CAP", 1)
    monkeypatch.setattr(index_module, "QUERY_POSTINGS_BUDGET", 3)
    for query in queries:
        bounded = {m.entry.id: m.score for m in index.match(query, limit=10)}
        assert bounded
        for entry_id, score in bounded.items():
            if entry_id in full[query]:
                assert score == pytest.approx(full[query][entry_id], abs=2e-4)


def test_held_out_leaves_the_question_out(index: KnowledgeIndex) -> None:
    questions = index.questions()
    doc = next(d for d, (entry_id, n, _) in enumerate(questions) if entry_id == "ship" and n == 1)
    assert questions[doc] == ("ship", 1, "什么时候寄出")
    assert index.match("什么时候寄出")[0].matched_question == "什么时候寄出"
    warm = index.held_out(doc)
    assert all(m.matched_question != "什么时候寄出" for m in warm)
    assert warm[0].entry.id == "ship"  # found through its other questions
    cold = index.held_out(doc, cold=True)
    ship = [m for m in cold if m.entry.id == "ship"]
    assert all(m.matched_question == "下单后多久发货" for m in ship)  # standard question only


def test_coverage_and_novelty(index: KnowledgeIndex) -> None:
    exact = index.match("乌龙茶用多少度的水冲泡")[0]
    assert exact.coverage == pytest.approx(1.0)
    assert exact.novelty == 0.0
    unrelated = index.match("明天北京天气怎么样")
    assert all(m.novelty > 0.5 for m in unrelated)
    assert all(0.0 <= m.coverage <= 1.0 for m in unrelated)


def test_with_model_changes_confidences_not_ranking(index: KnowledgeIndex) -> None:
    sure = ConfidenceModel(0.0, 0.0, 0.0, 0.0, 0.0, 10.0)
    before = index.match("怎么申请退款", limit=5)
    after = index.with_model(sure).match("怎么申请退款", limit=5)
    assert [(m.entry.id, m.score) for m in before] == [(m.entry.id, m.score) for m in after]
    assert all(m.confidence > 0.99 for m in after)
    assert index.model == DEFAULT_MODEL


def test_contains_reads_questions_as_analysed(index: KnowledgeIndex) -> None:
    assert index.contains("可以开发票吗？")
    assert not index.contains("可以开收据吗")


def test_support_is_the_score_of_the_entrys_next_wording() -> None:
    kb = KnowledgeBase((
        FaqEntry("refund", "怎么申请退款", ("退款怎么申请", "如何申请退款"), "a"),
        FaqEntry("ship", "多久发货", answer="b"),
    ))
    index = KnowledgeIndex.build(kb)
    refund = index.match("我想申请退款")[0]
    assert refund.entry.id == "refund"
    assert 0.0 < refund.support <= refund.score
    # An entry with one question has no second wording to lend support.
    assert index.match("多久能发货")[0].support == 0.0


def test_a_keyword_search_finds_entries_sharing_a_word_not_one_character() -> None:
    """The sidebar's KB search listed 过敏 -> 过期 and 退款 -> 付款 at 1%: ranking alone fills
    the list with entries that share a single character with the keywords."""
    demo = KnowledgeIndex.build(load_demo())
    ranked = [m.entry.id for m in demo.match("过敏", limit=8)]
    assert "product-expiry" in ranked  # 过期 shares 过: what the search used to show
    assert [m.entry.id for m in demo.find("过敏")] == ["skin-allergy"]
    assert demo.find("天气") == []
    assert [m.entry.id for m in demo.find("敏感")] == ["skin-sensitive"]  # 敏感 inside 敏感肌
    found = {m.entry.id for m in demo.find("快递")}
    assert {"order-tracking", "order-courier"} <= found


def test_a_keyword_search_ignores_a_shared_one_character_word() -> None:
    """哪 and 款 are words of their own, so 'shares a word' let 快递到哪了 list 痘肌用哪款 and
    哪款保湿最好 list 付不了款: the one-character overlaps the search was meant to drop."""
    demo = KnowledgeIndex.build(load_demo())
    tracking = [m.entry.id for m in demo.find("快递到哪了")]
    assert tracking[0] == "order-tracking"
    assert "skin-acne" not in tracking
    moisture = [(m.entry.id, m.matched_question) for m in demo.find("哪款保湿最好")]
    assert moisture[0][0] == "skin-dry"
    assert all("哪款" in q or "保湿" in q or "最好" in q for _, q in moisture)
    assert [m.entry.id for m in demo.find("退")][:1] != []  # one character: still searched
