"""Find a time inside free text: "回电话 明天10点", "明天下午3点回电话" (for /follow)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.timeparse import TimeParseError, TimeTooFarError, normalize, parse

# A word made only of time vocabulary, with a unit or a date shape: meant as a time.
_TIME_VOCAB = re.compile(
    r"[\d点时分半刻:/\-.年月日号周星期礼拜今明后昨前天大下上本这个午中晚早凌晨傍夜里以之小钟头底初末]+"
)
# A clock time at the start of what follows a day ("明天 25点", "明天25点回访"): part of the time.
_CLOCK_NEXT = re.compile(r"\d{1,2}[点时:](?:\d{1,2}分?)?")
_TIME_MARK = re.compile(
    r"\d[点时:号日天]|[今明后昨前]天|(?:周|星期|礼拜)\d|(?<!\d)\d{1,2}[-/]\d{1,2}(?!\d)|月[底末初]"
)


def looks_like_time(word: str) -> bool:
    """Whether a word is clearly meant as a time ("25点", "下周八"), parseable or not."""
    s = normalize(word).replace(" ", "")
    return bool(_TIME_VOCAB.fullmatch(s) and _TIME_MARK.search(s))


def split_time(text: str, *, now: datetime, tz: ZoneInfo) -> tuple[str, datetime | None]:
    """Find a time at the end (or start) of free text: (text without it, the time or None).

    A word that is clearly meant as a time but cannot be read ("25点") raises TimeParseError,
    and so does one too far ahead ("999999999小时后"). A past time is returned: refusing it
    is the caller's business.
    """
    parts = text.split()
    if not parts:
        return "", None
    n = len(parts)
    for start, end in ((n - 2, n), (n - 1, n), (0, 2), (0, 1)):
        if start < 0 or end <= start:
            continue
        try:
            when = parse(" ".join(parts[start:end]), now=now, tz=tz)
        except TimeTooFarError:
            raise  # a time, just an impossible one: say so rather than keep it as text
        except TimeParseError:
            continue
        if start == 0 and end < n:
            when = _with_clock(parts[0:end], parts[end], when, now=now, tz=tz)
        return " ".join(parts[:start] + parts[end:]), when
    glued = _split_glued(parts, now=now, tz=tz)
    if glued is not None:
        return glued
    for word in (parts[-1], parts[0]):
        if looks_like_time(word):
            parse(word, now=now, tz=tz)  # raises with the precise reason
    return text.strip(), None


def _split_glued(parts: list[str], *, now: datetime, tz: ZoneInfo) -> tuple[str, datetime] | None:
    """A time written without a space: "回电话明天10点", "明天下午3点回电话".

    At the end the longest readable piece is the time, even when it is past ("回访昨天10点"
    is refused by the caller, not read as "回访昨天" due at 10:00). At the start only a future
    time counts: "今天已联系" is a remark, not a due time.
    """
    last, head = parts[-1], parts[0]
    # Longest piece first, so "14点" wins over "4点"; a single character is never a time.
    for size in range(len(last) - 1, 1, -1):
        if _cuts_number(last, len(last) - size):
            continue
        when = _read(last[-size:], now=now, tz=tz)
        if when is not None:
            return " ".join([*parts[:-1], last[:-size]]), when
    for size in range(len(head) - 1, 1, -1):
        if _cuts_number(head, size):
            continue
        when = _read(head[:size], now=now, tz=tz)
        if when is not None:
            when = _with_clock([head[:size]], head[size:], when, now=now, tz=tz)
        if when is not None and when > now:
            return " ".join([head[size:], *parts[1:]]), when
    return None


def _with_clock(
    day: list[str], rest: str, when: datetime, *, now: datetime, tz: ZoneInfo
) -> datetime:
    """`when`, unless `rest` starts with a clock time that belongs to it ("明天" + "25点"):
    then the whole phrase is read, so an impossible clock raises instead of becoming text."""
    clock = _CLOCK_NEXT.match(normalize(rest))
    if clock is None:
        return when
    return parse(" ".join([*day, clock.group()]), now=now, tz=tz)


def _cuts_number(word: str, at: int) -> bool:
    """Whether splitting word at `at` would cut a number in two ("25点" is not "2" + "5点")."""
    return word[at - 1 : at + 1].isdigit() and len(word[at - 1 : at + 1]) == 2


def _read(text: str, *, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The time text names, or None when it is not one."""
    try:
        return parse(text, now=now, tz=tz)
    except TimeTooFarError:
        raise
    except TimeParseError:
        return None
