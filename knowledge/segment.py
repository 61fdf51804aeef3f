"""Tokenisation: jieba words with domain terms kept whole, and character 1+2-grams."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import ahocorasick
import jieba
import yaml

from knowledge import text as textmod

logger = logging.getLogger(__name__)

jieba.setLogLevel(logging.WARNING)

SYNONYMS_FILE = Path(__file__).parent / "data" / "synonyms.yaml"

# Function words that match everywhere and so only add noise to the word field.
_STOPWORD_TEXT = (
    "的 了 是 我 你 他 她 它 我们 你们 在 有 和 与 就 都 也 还 又 这 那 这个 那个 一个 个 "
    "把 被 给 对 从 到 为 着 过 会 要 想 让 请 一下 上 下 里 吧 呢 吗 啊 呀 嘛 哦"
)
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())


class Segmenter:
    """Owns a jieba tokenizer; call initialize() off the event loop before the first cut."""

    def __init__(self) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._lock = threading.Lock()
        self._ready = False

    def initialize(self) -> None:
        """Build jieba's prefix dictionary (about a second; blocking)."""
        with self._lock:
            if not self._ready:
                self._tokenizer.initialize()
                self._ready = True
                logger.info("jieba tokenizer initialised")

    def cut(self, text: str) -> list[str]:
        """Words of a normalised text, without HMM guesses (stable across versions)."""
        if not self._ready:
            self.initialize()
        return [w for w in self._tokenizer.cut(text, HMM=False) if w.strip()]


@functools.cache
def default_segmenter() -> Segmenter:
    """The process-wide segmenter; jieba's dictionary is read-only after initialisation."""
    return Segmenter()


# Words at or above this general-Chinese idf (jieba's table) count as fully "content".
CONTENT_IDF = 8.0


@functools.cache
def generic_idf() -> dict[str, float]:
    """General-Chinese idf of common words (jieba's own table, under CONTENT_IDF only).

    The words a question is built from in any domain (什么, 可以, 注意, 比较) are common in
    general text; a KB of a few dozen questions cannot tell them from its content words.
    """
    path = Path(jieba.__file__).parent / "analyse" / "idf.txt"
    table: dict[str, float] = {}
    try:
        with path.open(encoding="utf-8") as fh:  # line by line: the file has 270k lines
            for line in fh:
                word, _, value = line.partition(" ")
                try:
                    idf = float(value)
                except ValueError:
                    continue
                if idf < CONTENT_IDF:
                    table[word] = idf
    except OSError:  # the table is part of jieba; without it every word counts fully
        return {}
    return table


def content_weight(word: str) -> float:
    """How much a word says about what is asked: 1 for rare words, less for common ones."""
    return generic_idf().get(word, CONTENT_IDF) / CONTENT_IDF


@functools.cache
def default_synonyms() -> dict[str, tuple[str, ...]]:
    """The built-in synonym table shipped in knowledge/data/synonyms.yaml."""
    raw = yaml.safe_load(SYNONYMS_FILE.read_text("utf-8"))
    return {str(k): tuple(str(v) for v in vs) for k, vs in raw.items()}


@dataclass(frozen=True, slots=True)
class Analysis:
    """A text as the index sees it."""

    text: str
    words: tuple[str, ...]
    grams: tuple[str, ...]


def char_grams(text: str) -> list[str]:
    """Character unigrams and bigrams; bigrams do not span separators."""
    grams: list[str] = []
    for chunk in text.split():
        grams.extend(chunk)
        grams.extend(chunk[i : i + 2] for i in range(len(chunk) - 1))
    return grams


class Analyzer:
    """Normalise, cut into words (domain terms whole), rewrite whole words, make char grams."""

    def __init__(
        self,
        synonyms: Mapping[str, str],
        terms: Iterable[str] = (),
        segmenter: Segmenter | None = None,
    ) -> None:
        self._segmenter = segmenter or default_segmenter()
        domain = {textmod.normalize(t) for t in terms} | set(synonyms.values())
        domain = {t for t in domain if len(t) > 1 and " " not in t}
        self._rewriter = textmod.build_rewriter(synonyms)
        self._terms: ahocorasick.Automaton | None = None
        if domain:
            automaton = ahocorasick.Automaton()
            for term in domain:
                automaton.add_word(term, len(term))
            automaton.make_automaton()
            self._terms = automaton

    def rewrite(self, raw: str) -> str:
        """Normalised text with synonyms replaced by their canonical form, fillers dropped."""
        return self._rewrite(raw)[0]

    def analyse(self, raw: str) -> Analysis:
        """The normalised text, its words (no stopwords) and its char grams."""
        text, words = self._rewrite(raw)
        kept = tuple(w for w in words if w not in STOPWORDS)
        return Analysis(text, kept, tuple(char_grams(text)))

    def _rewrite(self, raw: str) -> tuple[str, list[str]]:
        """(rewritten text, its words): one jieba cut serves both the rewrite and the words."""
        chunks: list[str] = []
        words: list[str] = []
        separator = textmod.SEPARATOR
        for chunk in textmod.normalize(raw).split():
            rewritten = self._rewriter.rewrite(self._words(chunk))
            chunks.append("".join(rewritten))
            words.extend(w for w in rewritten if w != separator)
        return " ".join(" ".join(chunks).split()), words

    def _words(self, chunk: str) -> list[str]:
        """jieba words of one chunk, except that known domain terms are cut out first, whole."""
        words: list[str] = []
        pos = 0
        for start, end in self._term_spans(chunk):
            words.extend(self._segmenter.cut(chunk[pos:start]))
            words.append(chunk[start:end])
            pos = end
        words.extend(self._segmenter.cut(chunk[pos:]))
        return words

    def _term_spans(self, chunk: str) -> list[tuple[int, int]]:
        """Leftmost-longest non-overlapping domain-term spans."""
        if self._terms is None:
            return []
        longest: dict[int, int] = {}
        for end, length in self._terms.iter(chunk):
            start = end - length + 1
            longest[start] = max(longest.get(start, 0), length)
        spans: list[tuple[int, int]] = []
        pos = 0
        for start in sorted(longest):
            if start >= pos:
                spans.append((start, start + longest[start]))
                pos = start + longest[start]
        return spans
