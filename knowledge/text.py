"""Text normalisation: width, script, case, punctuation, filler words and synonyms."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
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


@functools.cache
def _traditional_chars() -> frozenset[str] | None:
    """Every character the t2s tables can change, or None if the tables cannot be read."""
    folder = Path(opencc.__file__).parent / "dictionary"
    chars: set[str] = set()
    try:
        for name in ("TSCharacters.txt", "TSPhrases.txt"):
            for line in (folder / name).read_text("utf-8").splitlines():
                chars.update(line.split("\t", 1)[0])
    except OSError:
        return None
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
    """Replaces phrases by their canonical form, longest match first, in one left-to-right pass."""

    def __init__(self, replacements: Mapping[str, str]) -> None:
        self._automaton: ahocorasick.Automaton | None = None
        keys = [k for k in replacements if k]
        if keys:
            automaton = ahocorasick.Automaton()
            for key in keys:
                automaton.add_word(key, (len(key), replacements[key]))
            automaton.make_automaton()
            self._automaton = automaton

    def rewrite(self, text: str) -> str:
        """The text with every matched phrase replaced."""
        if self._automaton is None or not text:
            return text
        # Longest phrase starting at each position; a match wins over later-starting ones.
        best: dict[int, tuple[int, str]] = {}
        for end, (length, target) in self._automaton.iter(text):
            start = end - length + 1
            if start not in best or best[start][0] < length:
                best[start] = (length, target)
        if not best:
            return text
        parts: list[str] = []
        pos = 0
        for start in sorted(best):
            if start < pos:
                continue
            length, target = best[start]
            parts.append(text[pos:start])
            parts.append(target)
            pos = start + length
        parts.append(text[pos:])
        return "".join(parts)


def build_rewriter(synonyms: Mapping[str, str], fillers: Iterable[str] = FILLERS) -> Rewriter:
    """A rewriter mapping synonym variants to canonicals and fillers to a separator."""
    replacements: dict[str, str] = {f: " " for f in fillers}
    # Canonicals map to themselves so a longer word protects its characters from a
    # shorter filler inside it.
    replacements.update(synonyms)
    return Rewriter(replacements)
