"""Chinese time expressions, resolved in the corp's time zone against a pinned clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain import periods, timeparse, timesplit

TZ = ZoneInfo("Asia/Shanghai")
# Wednesday 2024-11-20 15:30 in Beijing (07:30 UTC).
NOW = datetime(2024, 11, 20, 7, 30, tzinfo=UTC)


def local(month: int, day: int, hour: int, minute: int = 0, year: int = 2024) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("明天10点", local(11, 21, 10)),
        ("明天上午10点半", local(11, 21, 10, 30)),
        ("明天下午3点", local(11, 21, 15)),
        ("明天", local(11, 21, 9)),
        ("后天", local(11, 22, 9)),
        ("大后天晚上", local(11, 23, 20)),
        ("3天后", local(11, 23, 15, 30)),
        ("三天后", local(11, 23, 15, 30)),
        ("2小时后", local(11, 20, 17, 30)),
        ("两小时后", local(11, 20, 17, 30)),
        ("半小时后", local(11, 20, 16, 0)),
        ("30分钟后", local(11, 20, 16, 0)),
        ("1周后", local(11, 27, 15, 30)),
        ("周五下午", local(11, 22, 14)),
        ("星期五 下午4点", local(11, 22, 16)),
        ("周三上午", local(11, 27, 9)),  # today's morning has passed: next Wednesday
        ("周三晚上", local(11, 20, 20)),  # still ahead today
        ("周一", local(11, 25, 9)),
        ("下周一", local(11, 25, 9)),
        ("下周五 10:00", local(11, 29, 10)),
        ("下下周一", local(12, 2, 9)),
        ("礼拜天", local(11, 24, 9)),
        ("11-30 14:00", local(11, 30, 14)),
        ("11/30", local(11, 30, 9)),
        ("12月3日下午2点", local(12, 3, 14)),
        ("十二月三日", local(12, 3, 9)),
        ("1-5 9:00", local(1, 5, 9, year=2025)),  # already past this year
        ("今晚8点", local(11, 20, 20)),
        ("今晚", local(11, 20, 20)),
        ("明早", local(11, 21, 8)),
        ("明晚9点", local(11, 21, 21)),
        ("今天中午1点", local(11, 20, 13)),
        ("10点", local(11, 21, 10)),  # passed today: tomorrow
        ("下午4点一刻", local(11, 20, 16, 15)),
        ("18:45", local(11, 20, 18, 45)),
        ("１８：４５", local(11, 20, 18, 45)),  # full-width
        ("2024-12-01", local(12, 1, 9)),
        ("2024-12-01T10:15", local(12, 1, 10, 15)),
        ("2024-12-01 10:15:00+08:00", local(12, 1, 10, 15)),
        ("2024-12-01T02:15:00Z", local(12, 1, 10, 15)),
        ("2025年1月2日 9点", local(1, 2, 9, year=2025)),
        ("下周一上午9点", local(11, 25, 9)),
        ("下周一 上午9点", local(11, 25, 9)),
        ("周五下午3点半", local(11, 22, 15, 30)),
        ("明天3点", local(11, 21, 15)),  # a bare 1-6 o'clock is the afternoon at work
        ("明天凌晨3点", local(11, 21, 3)),
        ("明天早上6点", local(11, 21, 6)),
        ("3:00", local(11, 21, 3)),  # a 24-hour clock is taken as written
        ("晚上12点", local(11, 21, 0)),  # midnight at the end of today
        ("中午12点", local(11, 21, 12)),
        ("月底", local(11, 30, 9)),
        ("月底下午5点", local(11, 30, 17)),
        ("下月初", local(12, 1, 9)),
        ("下个月底", local(12, 31, 9)),
        ("25号", local(11, 25, 9)),
        ("15号", local(12, 15, 9)),  # past this month: next month's
        ("下月3号下午2点", local(12, 3, 14)),
        ("3天后下午3点", local(11, 23, 15)),
        ("两周后上午", local(12, 4, 9)),
        ("1个月后", local(12, 20, 15, 30)),
        ("半个月后", local(12, 5, 15, 30)),
        ("15分钟后", local(11, 20, 15, 45)),
    ],
)
def test_parse(text: str, expected: datetime) -> None:
    assert timeparse.parse(text, now=NOW, tz=TZ) == expected


@pytest.mark.parametrize(
    "text",
    ["", "回电话", "明天吃饭", "25点", "2-30", "13月1日", "下周八", "明确", "明", "今", "32号",
     "明天25点", "下午茶"],
)  # fmt: skip
def test_parse_rejects(text: str) -> None:
    with pytest.raises(timeparse.TimeParseError):
        timeparse.parse(text, now=NOW, tz=TZ)


@pytest.mark.parametrize(
    ("text", "rest", "when"),
    [
        ("回电话 明天10点", "回电话", local(11, 21, 10)),
        ("明天10点 回电话", "回电话", local(11, 21, 10)),
        ("确认报价 11-30 14:00", "确认报价", local(11, 30, 14)),
        ("问问 周五 下午", "问问", local(11, 22, 14)),
        ("寄样品", "寄样品", None),
        ("订单 1234", "订单 1234", None),
        ("3天后", "", local(11, 23, 15, 30)),
        ("回电话明天10点", "回电话", local(11, 21, 10)),
        ("明天下午3点回电话", "回电话", local(11, 21, 15)),
        ("确认报价 下周一上午9点", "确认报价", local(11, 25, 9)),
        ("月底前交资料 月底", "月底前交资料", local(11, 30, 9)),
        ("明确报价", "明确报价", None),
        ("今天已联系 下次再约", "今天已联系 下次再约", None),  # a glued past time is just text
        ("送下午茶", "送下午茶", None),
        ("订单 1234-56", "订单 1234-56", None),
        ("发周报", "发周报", None),
    ],
)
def test_split_time(text: str, rest: str, when: datetime | None) -> None:
    assert timesplit.split_time(text, now=NOW, tz=TZ) == (rest, when)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("回电 25点", "没有这个时间"), ("回电 明天25点", "没有这个时间"), ("回电 下周八", "看不懂"),
     ("回电 2-30", "没有这一天")],
)  # fmt: skip
def test_split_time_rejects_bad_times(text: str, reason: str) -> None:
    with pytest.raises(timeparse.TimeParseError, match=reason):
        timesplit.split_time(text, now=NOW, tz=TZ)


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("", local(11, 20, 0), local(11, 21, 0), "今天"),
        ("本周", local(11, 18, 0), local(11, 25, 0), "本周"),
        ("上周", local(11, 11, 0), local(11, 18, 0), "上周"),
        ("本月", local(11, 1, 0), local(12, 1, 0), "本月"),
        ("上月", local(10, 1, 0), local(11, 1, 0), "上月"),
        ("近7天", local(11, 14, 0), local(11, 21, 0), "近7天"),
        ("2024-11-01~2024-11-10", local(11, 1, 0), local(11, 11, 0), "2024-11-01~2024-11-10"),
        ("11-01～11-10", local(11, 1, 0), local(11, 11, 0), "11-01~11-10"),
        ("11-01 到 11-10", local(11, 1, 0), local(11, 11, 0), "11-01~11-10"),
    ],
)
def test_parse_period(text: str, start: datetime, end: datetime, label: str) -> None:
    assert periods.parse_period(text, now=NOW, tz=TZ) == (start, end, label)


@pytest.mark.parametrize("text", ["上辈子", "11-10~11-01", "2024-13-01~2024-13-02"])
def test_parse_period_rejects(text: str) -> None:
    with pytest.raises(timeparse.TimeParseError):
        periods.parse_period(text, now=NOW, tz=TZ)


def test_naive_now_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        timeparse.parse("明天", now=datetime(2024, 1, 1), tz=TZ)  # noqa: DTZ001


def test_describe() -> None:
    assert timeparse.describe(local(11, 21, 10), now=NOW, tz=TZ) == "明天 10:00"
    assert timeparse.describe(local(11, 30, 14), now=NOW, tz=TZ) == "11月30日(周六) 14:00"
