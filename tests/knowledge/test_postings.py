from __future__ import annotations

import jieba
import pytest

from knowledge.postings import Bm25Field
from knowledge.segment import Segmenter, char_grams

TEXTS = [
    "下单后多久发货",
    "怎么查看物流信息",
    "包裹到哪里了",
    "如何申请退款",
    "我要退钱 000",
    "乌龙茶用多少度的水冲泡",
    "发货发货",
    "qq上面能退款吗",
]


def _dump(field: Bm25Field, terms: list[str]) -> list[tuple[list[int], list[float]] | None]:
    found = [field.postings(t, 100) for t in terms]
    return [None if f is None else (list(f[0]), list(f[1])) for f in found]


def test_sliced_build_equals_one_pass() -> None:
    one = Bm25Field(TEXTS, char_grams)
    sliced = Bm25Field(TEXTS, char_grams, passes=3)
    terms = sorted({g for t in TEXTS for g in char_grams(t)}) + ["没有"]
    assert _dump(one, terms) == _dump(sliced, terms)
    assert [one.idf(t) for t in terms] == [sliced.idf(t) for t in terms]
    assert list(one.norms()) == list(sliced.norms())


def test_postings_are_impact_ordered_and_lookup_cached() -> None:
    field = Bm25Field([list(char_grams(t)) for t in TEXTS])
    start, end, idf = field.lookup("发")
    weights = list(field.weights()[start:end])
    assert end - start == 2
    assert idf > 0
    assert weights == sorted(weights, reverse=True)
    assert field.lookup("发") == (start, end, idf)
    assert field.lookup("鑫")[0] == field.lookup("鑫")[1]  # unseen: empty span


@pytest.fixture(scope="module")
def cutters() -> tuple[Segmenter, jieba.Tokenizer]:
    reference = jieba.Tokenizer()
    reference.initialize()
    return Segmenter(), reference


@pytest.mark.parametrize(
    "text",
    [
        "下单后多久发货",
        "iphone13怎么退款",
        "a1 b2 c3",
        "我的qq号是123456",
        "㐀㐁乌龙茶",
        "鿖鿗退货",
        "a+b#c.d%e-f 发货",
        "不过敏没有过敏是不是过敏",
        "",
    ],
)
def test_cut_matches_jieba(text: str, cutters: tuple[Segmenter, jieba.Tokenizer]) -> None:
    segmenter, reference = cutters
    expected = [w for w in reference.cut(text, HMM=False) if w.strip()]
    assert segmenter.cut(text) == expected
