"""Reporting periods for /stats and /misses: "今天", "本周", "本月", "11-01~11-30", ...

Periods are whole local days in the corp's time zone, returned as aware [start, end) bounds.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.timeparse import ABS_DATE, MONTH_DAY, TimeParseError, make_date, normalize

# Separators accepted between the two ends of "from~to" (after NFKC, "～" is "~").
_RANGE_SEPARATORS = ("至", "到", "—")
_RECENT = ("最近", "近")


def parse_period(text: str, *, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime, str]:
    """[start, end) and a label for 今天|昨天|本周|上周|本月|上月|近N天|from~to (default 今天)."""
    s = normalize(text or "今天").replace(" ", "")
    today = datetime.combine(now.astimezone(tz).date(), time(), tzinfo=tz)
    monday = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    named = {
        "今天": (today, today + timedelta(days=1)),
        "今日": (today, today + timedelta(days=1)),
        "昨天": (today - timedelta(days=1), today),
        "本周": (monday, monday + timedelta(days=7)),
        "这周": (monday, monday + timedelta(days=7)),
        "上周": (monday - timedelta(days=7), monday),
        "本月": (month, next_month),
        "这个月": (month, next_month),
        "上月": (last_month, month),
        "上个月": (last_month, month),
    }
    if s in named:
        start, end = named[s]
        return start, end, s
    recent = _recent_days(s)
    if recent is not None:
        return today - timedelta(days=recent - 1), today + timedelta(days=1), s
    for sep in _RANGE_SEPARATORS:
        s = s.replace(sep, "~")
    if "~" in s:
        left, _, right = s.partition("~")
        start = _day_start(left, now=now, tz=tz)
        end = _day_start(right, now=now, tz=tz) + timedelta(days=1)
        if end <= start:
            raise TimeParseError("结束日期早于开始日期")
        return start, end, f"{left}~{right}"
    raise TimeParseError(
        "时间段可以是：今天、昨天、本周、上周、本月、上月、近7天，或 2024-11-01~2024-11-30"
    )


def _recent_days(s: str) -> int | None:
    """N for "近N天" / "最近N天" (1..366), else None."""
    for prefix in _RECENT:
        if s.startswith(prefix) and s.endswith("天"):
            number = s[len(prefix) : -1]
            if number.isdigit() and 1 <= int(number) <= 366:
                return int(number)
    return None


def _day_start(text: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    if m := ABS_DATE.fullmatch(text):
        day = make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    elif m := MONTH_DAY.fullmatch(text):
        day = make_date(now.astimezone(tz).year, int(m.group(1)), int(m.group(2)))
    else:
        raise TimeParseError(f"看不懂日期「{text}」，例如 2024-11-01")
    return datetime.combine(day, time(), tzinfo=tz)
