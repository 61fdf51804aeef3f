"""Text normalisation (width, script, case, punctuation) and whole-word rewriting."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import ahocorasick
import opencc

# Polite openers and sentence particles that carry no intent in customer questions.
FILLERS: tuple[str, ...] = (
    "请问一下",
    "请问",
    "问一下",
    "你好",
    "您好",
    "哈喽",
    "在吗",
    "在不在",
    "谢谢",
    "麻烦",
    "亲爱的",
    "亲",
    "吗",
    "呢",
    "啊",
    "呀",
    "吧",
    "哦",
    "噢",
    "嘛",
    "啦",
    "哇",
    "呐",
    "嗯",
)

# Anything that is not a letter, digit or CJK ideograph separates tokens.
_SEPARATORS = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")


@functools.cache
def _t2s() -> opencc.OpenCC:
    """The traditional -> simplified converter (loads its dictionaries once)."""
    return opencc.OpenCC("t2s")


def _table(folder: Path, name: str) -> list[tuple[str, list[str]]]:
    rows = []
    for line in (folder / name).read_text("utf-8").splitlines():
        key, _, values = line.partition("\t")
        rows.append((key, values.split()))
    return rows


@functools.cache
def _traditional_chars() -> frozenset[str] | None:
    """Characters without which the t2s tables change nothing (None: tables unreadable).

    The characters that convert, plus, for the few phrases that convert without holding one
    (沈默 -> 沉默), the phrase's characters. A text with none of them is already simplified,
    the common case, which then skips the converter.
    """
    folder = Path(opencc.__file__).parent / "dictionary"
    try:
        characters = _table(folder, "TSCharacters.txt")
        phrases = _table(folder, "TSPhrases.txt")
    except OSError:
        return None
    chars = {key for key, values in characters if values != [key]}
    for key, values in phrases:
        if values != [key] and chars.isdisjoint(key):
            chars.update(key)
    return frozenset(chars)


def to_simplified(text: str) -> str:
    """Traditional Chinese -> simplified."""
    traditional = _traditional_chars()
    # Most input is already simplified; the converter costs ~10 us even when it changes nothing.
    if traditional is not None and traditional.isdisjoint(text):
        return text
    return str(_t2s().convert(text))


def normalize(text: str) -> str:
    """NFKC (full width -> half width), simplified script, lower case, punctuation -> space."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = to_simplified(text)
    return _SEPARATORS.sub(" ", text).strip()


class Rewriter:
    """Replaces runs of whole words that spell a phrase, longest first, left to right.

    Words are the tokens of one chunk (jieba's, with domain terms kept whole). A phrase is
    replaced only where it starts and ends on word boundaries, so the variant "能" rewrites
    the word 能 but never the 能 inside 功能, and "息" never touches 信息.
    """

    def __init__(self, replacements: Mapping[str, str]) -> None:
        self._automaton: ahocorasick.Automaton | None = None
        keys = [k for k in replacements if k]
        if keys:
            automaton = ahocorasick.Automaton()
            for key in keys:
                automaton.add_word(key, (len(key), replacements[key]))
            automaton.make_automaton()
            self._automaton = automaton

    def rewrite(self, words: Sequence[str]) -> list[str]:
        """The words with every whole-word phrase replaced (a filler becomes SEPARATOR)."""
        if self._automaton is None or not words:
            return list(words)
        text = "".join(words)
        found = list(self._automaton.iter(text))
        if not found:
            return list(words)
        # Word index at each boundary offset (the end of the text included).
        at: dict[int, int] = {}
        pos = 0
        for i, word in enumerate(words):
            at[pos] = i
            pos += len(word)
        at[pos] = len(words)
        longest: dict[int, tuple[int, str]] = {}
        for end, (length, target) in found:
            start = end - length + 1
            if start in at and end + 1 in at and longest.get(start, (0, ""))[0] < length:
                longest[start] = (length, target)
        if not longest:
            return list(words)
        out: list[str] = []
        index = 0
        for start in sorted(longest):
            first = at[start]
            if first < index:
                continue  # overlaps a phrase already replaced
            length, target = longest[start]
            out.extend(words[index:first])
            out.append(target)
            index = at[start + length]
        out.extend(words[index:])
        return out


# What a filler becomes: a separator, so no character gram spans the gap it leaves.
SEPARATOR = " "


def build_rewriter(synonyms: Mapping[str, str], fillers: Iterable[str] = FILLERS) -> Rewriter:
    """A rewriter mapping synonym variants to canonicals and fillers to a separator."""
    replacements: dict[str, str] = {f: SEPARATOR for f in fillers}
    # A canonical maps to itself, so a longer word wins over a shorter filler inside it.
    replacements.update(synonyms)
    return Rewriter(replacements)
