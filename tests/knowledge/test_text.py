from __future__ import annotations

import pytest

from knowledge import text
from knowledge.model import Synonyms
from knowledge.segment import Analyzer, char_grams, default_synonyms


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
    assert rewriter.rewrite(["怎样", "才能", "退钱"]) == ["怎么", "退款"]


def test_rewriter_replaces_whole_words_only() -> None:
    rewriter = text.Rewriter({"息": "利息", "能": "可以", "卡": "银行卡", "换个": "修改"})
    assert rewriter.rewrite(["信息", "功能", "卡住", "了"]) == ["信息", "功能", "卡住", "了"]
    assert rewriter.rewrite(["能", "换", "个", "卡"]) == ["可以", "修改", "银行卡"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("卡住了", "卡住了"),
        ("信息怎么改", "信息怎么改"),
        ("功能有哪些", "功能有什么"),  # 哪些 is a whole word: a question word
        ("能不能退", "可以退"),
        ("请问，亲子装有吗？", "亲子装有"),  # 亲 is a filler only as a word of its own
        ("哪款保湿最好", "哪款保湿最好"),  # 哪 alone is "which" as often as "where"
        ("积分在哪看", "积分哪里看"),  # 在哪 is "where"
    ],
)
def test_builtin_table_rewrites_whole_words(raw: str, expected: str) -> None:
    analyzer = Analyzer(Synonyms(default_synonyms()).variant_map())
    assert analyzer.rewrite(raw) == expected


def test_builtin_table_is_domain_neutral() -> None:
    table = default_synonyms()
    words = {w for canonical, variants in table.items() for w in (canonical, *variants)}
    assert not words & {"银行卡", "卡", "利息", "息", "借款", "额度", "账号", "修改", "换", "订单"}


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


def test_the_simplified_fast_path_changes_nothing_the_converter_would() -> None:
    """to_simplified skips OpenCC for text with none of its characters; on random text and on
    the phrases that convert without a traditional character (沈默), it agrees with OpenCC."""
    import random

    from knowledge import text as textmod

    converter = textmod._t2s()
    rng = random.Random(7)
    pool = [chr(c) for c in range(0x4E00, 0x9FA5)]
    samples = ["沈默是金", "他很沈默", "沈船打捞", "沈阳", "我對酒精過敏", "卡住了", "有序"]
    samples += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(5000)]
    for sample in samples:
        assert textmod.to_simplified(sample) == converter.convert(sample), sample
    assert textmod.to_simplified("他很沈默") == "他很沉默"
