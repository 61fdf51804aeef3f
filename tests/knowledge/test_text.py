from __future__ import annotations

import pytest

from knowledge import text
from knowledge.segment import Analyzer, char_grams


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full width -> half width, lower case
        ("怎麼退貨？", "怎么退货"),  # traditional -> simplified, punctuation dropped
        ("  你好，\t发货！！", "你好 发货"),
        ("QQ上面", "qq上面"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert text.normalize(raw) == expected


def test_rewriter_prefers_longest_match() -> None:
    rewriter = text.Rewriter({"怎样": "怎么", "怎样才能": "怎么", "退钱": "退款"})
    assert rewriter.rewrite("怎样才能退钱") == "怎么退款"


def test_fillers_removed_but_canonicals_protected() -> None:
    analyzer = Analyzer({"如何": "怎么", "怎么": "怎么"})
    assert analyzer.rewrite("请问如何发货呢") == "怎么发货"
    assert analyzer.rewrite("你好，在吗") == ""


def test_synonyms_apply_to_both_sides() -> None:
    analyzer = Analyzer({"为何": "为什么", "为啥": "为什么", "为什么": "为什么"})
    assert analyzer.rewrite("为啥没发货") == analyzer.rewrite("为何没发货")


def test_domain_terms_stay_whole() -> None:
    analyzer = Analyzer({}, terms=["茶小铺会员卡", "乌龙茶"])
    words = analyzer.analyse("我的茶小铺会员卡能买乌龙茶吗").words
    assert "茶小铺会员卡" in words
    assert "乌龙茶" in words


def test_stopwords_dropped_from_words_only() -> None:
    analysis = Analyzer({}).analyse("我的订单")
    assert "的" not in analysis.words
    assert "的" in analysis.grams


def test_char_grams_do_not_span_separators() -> None:
    assert char_grams("ab c") == ["a", "b", "ab", "c"]
