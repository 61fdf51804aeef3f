"""Chinese time expressions ("明天10点", "3天后", "周五下午", "11-30 14:00", ISO) to datetimes.

Everything is relative to an injected `now` and resolved in the corp's time zone, so tests
pin the clock and a server in UTC still reads "明天10点" as 10:00 Beijing time.
Reporting periods ("本周", "11-01~11-30") live in `bot.domain.periods`.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.errors import UsageError

# The furthest a due time may lie from now: a reminder ten years out is a typo, and a huge
# number ("999999999小时后") must be refused before date arithmetic overflows.
MAX_AHEAD_YEARS = 10
MAX_AHEAD = timedelta(days=366 * MAX_AHEAD_YEARS)
# When only a day is given ("明天", "下周一"), the follow-up is due at the start of work.
DEFAULT_HOUR = 9
# Hour meant by a bare part of the day ("周五下午" -> 14:00).
PERIOD_DEFAULT = {
    "凌晨": 5, "早上": 8, "早晨": 8, "早": 8, "上午": 9, "中午": 12, "午后": 14,
    "下午": 14, "傍晚": 18, "晚上": 20, "夜里": 21, "晚": 20, "夜": 21,
}  # fmt: skip
# Parts of the day whose clock hours 1-11 mean the afternoon or evening.
PM_PERIODS = frozenset({"午后", "下午", "傍晚", "晚上", "夜里", "晚", "夜"})
# Parts of the day where "12点" is midnight (the start of the next day), not noon.
MIDNIGHT_PERIODS = frozenset({"晚上", "夜里", "晚", "夜"})
# "3点" with no part of the day is read as 15:00: at work, 1-6 o'clock means the afternoon.
BARE_PM_HOURS = range(1, 7)
_PERIOD_RE = "|".join(sorted(PERIOD_DEFAULT, key=len, reverse=True))
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}  # fmt: skip
_CN_NUM = re.compile(r"[零一二两三四五六七八九十]+")
_WEEKDAY = {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6, "日": 6, "天": 6}
_UNITS = {"分钟": "minutes", "分": "minutes", "小时": "hours", "钟头": "hours", "天": "days",
          "日": "days", "周": "weeks", "星期": "weeks", "礼拜": "weeks"}  # fmt: skip
_UNIT_RE = r"(分钟|分|小时|钟头|天|日|周|星期|礼拜|月)"

_RELATIVE = re.compile(rf"(\d+|半)(?:个)?{_UNIT_RE}(以?后|之后|以?前|之前)")
ABS_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?")
MONTH_DAY = re.compile(r"(\d{1,2})[-/月](\d{1,2})[日号]?")
_MONTH_EDGE = re.compile(r"(下个?|本|这个?)?月(底|末|初)")
_MONTH_DATE = re.compile(r"(下个?月|本月|这个?月)?(\d{1,2})[号日]")
_DAYS_LATER = re.compile(r"(\d+)(?:个)?(天|日|周|星期|礼拜)(?:以?后|之后)")
# "明"/"今"/"昨" alone are days only before a part of the day ("明早", "今晚", "昨晚"), not in
# "明确". Past days are read too, so that "昨天10点" is refused as past, never half-read.
_REL_DAY = re.compile(
    r"(大后天|后天|明天|明日|今天|今日|昨天|昨日|大前天|前天|明(?=早|晚|夜)|今(?=早|晚|夜)"
    r"|昨(?=早|晚|夜))"
)
_REL_DAY_OFFSET = {
    "今天": 0, "今日": 0, "今": 0, "明天": 1, "明日": 1, "明": 1, "后天": 2, "大后天": 3,
    "昨天": -1, "昨日": -1, "昨": -1, "前天": -2, "大前天": -3,
}  # fmt: skip
_WEEK_DAY = re.compile(r"(下下|下个|下|本|这个|这)?(?:周|星期|礼拜)([1-7日天])")
_PERIOD = re.compile(f"({_PERIOD_RE})")
_CLOCK = re.compile(r"(\d{1,2})(?:[:：](\d{2})|点|时)(?:(\d{1,2})分?|(半)|(\d)刻)?")


class TimeParseError(UsageError):
    """Text that is not a time expression this module understands."""


class TimeTooFarError(TimeParseError):
    """A time expression that reads fine but lies beyond MAX_AHEAD (or any calendar)."""


def _cn_to_int(run: str) -> int:
    """一..九十九 (with 两) as an int."""
    if "十" not in run:
        value = 0
        for ch in run:
            value = value * 10 + _CN_DIGITS[ch]
        return value
    tens, _, ones = run.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def _cn_sub(found: re.Match[str]) -> str:
    try:
        return str(_cn_to_int(found.group()))
    except KeyError:  # not a number we read ("十十"): leave it, the parse will reject it
        return found.group()


def normalize(text: str) -> str:
    """Full-width to ASCII, Chinese numerals to digits, runs of spaces to one."""
    text = unicodedata.normalize("NFKC", text).strip()
    text = _CN_NUM.sub(_cn_sub, text)
    return re.sub(r"\s+", " ", text)


def parse(text: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    """The moment `text` names, aware in `tz`; TimeParseError when it is not a time.

    Past moments ("昨天10点", "2小时前") are returned as such: refusing them is the caller's
    business. A moment beyond what a reminder can sensibly mean (MAX_AHEAD) is refused here,
    so that "999999999小时后" is a clear error, never an overflow.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        when = _parse(text, now.astimezone(tz), tz)
    except (OverflowError, ValueError):  # a year past 9999 (or before 1): date arithmetic
        raise TimeTooFarError(_too_far(text)) from None
    if when - now > MAX_AHEAD:
        raise TimeTooFarError(_too_far(text))
    return when


def _too_far(text: str) -> str:
    return f"时间「{text.strip()}」太远了，提醒时间最多在 {MAX_AHEAD_YEARS} 年以内"


def _parse(text: str, local_now: datetime, tz: ZoneInfo) -> datetime:
    iso = _iso(text.strip(), tz)
    if iso is not None:
        return iso
    s = normalize(text)
    if not s:
        raise TimeParseError("缺少时间")
    relative = _RELATIVE.fullmatch(s.replace(" ", ""))
    if relative:
        amount, unit, direction = relative.groups()
        return _after(local_now, amount, unit, ago="前" in direction)
    return _absolute(s, text, local_now)


def _after(now: datetime, amount: str, unit: str, *, ago: bool = False) -> datetime:
    """now plus (or, ago, minus) "3天" / "半小时" / "2个月"."""
    sign = -1 if ago else 1
    if unit == "月":
        if amount == "半":
            return now + sign * timedelta(days=15)
        return datetime.combine(add_months(now.date(), sign * int(amount)), now.timetz())
    value = 0.5 if amount == "半" else int(amount)
    return now + sign * timedelta(**{_UNITS[unit]: value})


def add_months(day: date, months: int, day_of_month: int | None = None) -> date:
    """The same (or the given) day `months` later, clamped to the month's last day."""
    years, index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, index + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day_of_month or day.day, last))


def _iso(text: str, tz: ZoneInfo) -> datetime | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?.*)?", text):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TimeParseError(f"看不懂时间「{text}」") from exc
    if len(text) == 10:  # a date alone: the start of the working day
        value = value.replace(hour=DEFAULT_HOUR)
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def _absolute(s: str, original: str, now: datetime) -> datetime:
    """Day part, then part of the day, then clock time; each optional but not all absent."""
    day, rest, rolls = _day(s, now)
    period = None
    found = _PERIOD.match(rest.lstrip())
    if found:
        period, rest = found.group(1), rest.lstrip()[found.end() :]
    rest = rest.strip()
    clock = _CLOCK.fullmatch(rest) if rest else None
    if rest and clock is None:
        raise TimeParseError(
            f"看不懂时间「{original}」，例如：明天10点、3天后、周五下午、11-30 14:00"
        )
    if day is None and period is None and clock is None:
        raise TimeParseError(f"看不懂时间「{original}」")
    hour, minute = _hour_minute(period, clock)
    # Hour 24 ("晚上12点") is midnight at the end of that day.
    result = datetime.combine(day or now.date(), time(hour % 24, minute), tzinfo=now.tzinfo)
    result += timedelta(days=hour // 24)
    if result <= now and rolls is not None:
        result = rolls(result)
    return result


def _hour_minute(period: str | None, clock: re.Match[str] | None) -> tuple[int, int]:
    if clock is None:
        return (PERIOD_DEFAULT[period] if period else DEFAULT_HOUR), 0
    hour = int(clock.group(1))
    minute = 0
    if clock.group(2) or clock.group(3):
        minute = int(clock.group(2) or clock.group(3))
    elif clock.group(4):
        minute = 30
    elif clock.group(5):
        minute = 15 * int(clock.group(5))
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise TimeParseError(f"没有这个时间：{hour}点" + (f"{minute}分" if minute else ""))
    if period in MIDNIGHT_PERIODS and hour == 12:
        hour = 24
    elif _afternoon(period, hour, bare=clock.group(2) is None):
        hour += 12
    if period == "凌晨" and hour == 12:
        hour = 0
    return hour, minute


def _afternoon(period: str | None, hour: int, *, bare: bool) -> bool:
    """Whether a 1-11 o'clock hour means p.m. here ("下午3点", "中午1点", a bare "3点")."""
    if period is None:
        return bare and hour in BARE_PM_HOURS
    return period in PM_PERIODS and hour < 12 or period == "中午" and hour < 11


Roll = Callable[[datetime], datetime] | None


def _day(s: str, now: datetime) -> tuple[date | None, str, Roll]:
    """(date, unparsed rest, how to move a result that is already past) for the day part."""
    today = now.date()
    if m := ABS_DATE.match(s):
        return make_date(int(m.group(1)), int(m.group(2)), int(m.group(3))), s[m.end() :], None
    if m := MONTH_DAY.match(s):
        candidate = make_date(today.year, int(m.group(1)), int(m.group(2)))
        return candidate, s[m.end() :], lambda dt: dt.replace(year=dt.year + 1)
    if m := _MONTH_EDGE.match(s):
        return _month_edge(today, m)
    if m := _MONTH_DATE.match(s):
        return _month_date(today, m)
    if m := _WEEK_DAY.match(s):
        target = _WEEKDAY[m.group(2)]
        monday = today - timedelta(days=today.weekday())
        weeks = {"下下": 2, "下个": 1, "下": 1}.get(m.group(1) or "", 0)
        when = monday + timedelta(weeks=weeks, days=target)
        roll: Roll = None
        if not m.group(1):  # a bare "周五": the next Friday that is still ahead
            roll = _plus(days=7)
            if when < today:
                when += timedelta(days=7)
        return when, s[m.end() :], roll
    if m := _REL_DAY.match(s):
        return today + timedelta(days=_REL_DAY_OFFSET[m.group(1)]), s[m.end() :], None
    if (m := _DAYS_LATER.match(s)) and s[m.end() :].strip():  # "3天后下午3点"
        days = int(m.group(1)) * (1 if m.group(2) in ("天", "日") else 7)
        return today + timedelta(days=days), s[m.end() :], None
    # No day given: a time of day that has passed today means tomorrow.
    return None, s, _plus(days=1)


def _month_edge(today: date, m: re.Match[str]) -> tuple[date, str, Roll]:
    """The last or first day of this or next month ("月底", "下月初")."""
    ahead = 1 if (m.group(1) or "").startswith("下") else 0
    first = m.group(2) == "初"

    def edge(months: int) -> date:
        base = add_months(today.replace(day=1), months)
        return base if first else add_months(base, 0, 31)

    roll: Roll = None
    if m.group(1) is None:  # a bare "月底" already past: next month's
        roll = lambda dt: datetime.combine(edge(1), dt.timetz())  # noqa: E731
    return edge(ahead), _rest(m), roll


def _month_date(today: date, m: re.Match[str]) -> tuple[date, str, Roll]:
    """A day of this or next month ("15号", "下月3号")."""
    ahead = 1 if (m.group(1) or "").startswith("下") else 0
    base = add_months(today.replace(day=1), ahead)
    day = make_date(base.year, base.month, int(m.group(2)))
    roll: Roll = None
    if m.group(1) is None:  # a bare "15号" already past: next month's 15th
        roll = lambda dt: datetime.combine(  # noqa: E731
            _next_month_day(dt.date()), dt.timetz()
        )
    return day, _rest(m), roll


def _next_month_day(day: date) -> date:
    nxt = add_months(day.replace(day=1), 1)
    return make_date(nxt.year, nxt.month, day.day)


def _rest(m: re.Match[str]) -> str:
    """The text after a match."""
    return m.string[m.end() :]


def _plus(**delta: int) -> Callable[[datetime], datetime]:
    return lambda dt: dt + timedelta(**delta)


def make_date(year: int, month: int, day_: int) -> date:
    """date(year, month, day) or TimeParseError naming the impossible day."""
    try:
        return date(year, month, day_)
    except ValueError as exc:
        raise TimeParseError(f"没有这一天：{month}月{day_}日") from exc


def describe(when: datetime, *, now: datetime, tz: ZoneInfo) -> str:
    """A short Chinese rendering: "今天 14:00", "明天 09:00", "11月30日(周六) 14:00"."""
    local, today = when.astimezone(tz), now.astimezone(tz).date()
    days = (local.date() - today).days
    clock = local.strftime("%H:%M")
    named = {0: "今天", 1: "明天", 2: "后天", -1: "昨天"}.get(days)
    if named:
        return f"{named} {clock}"
    weekday = "一二三四五六日"[local.weekday()]
    year = f"{local.year}年" if local.year != today.year else ""
    return f"{year}{local.month}月{local.day}日(周{weekday}) {clock}"
