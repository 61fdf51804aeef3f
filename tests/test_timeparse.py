"""Chinese time expressions, resolved in the corp's time zone against a pinned clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import timeparse

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
    ],
)
def test_parse(text: str, expected: datetime) -> None:
    assert timeparse.parse(text, now=NOW, tz=TZ) == expected


@pytest.mark.parametrize("text", ["", "回电话", "明天吃饭", "25点", "2-30", "13月1日", "下周八"])
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
    ],
)
def test_split_time(text: str, rest: str, when: datetime | None) -> None:
    assert timeparse.split_time(text, now=NOW, tz=TZ) == (rest, when)


def test_naive_now_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        timeparse.parse("明天", now=datetime(2024, 1, 1), tz=TZ)  # noqa: DTZ001


def test_describe() -> None:
    assert timeparse.describe(local(11, 21, 10), now=NOW, tz=TZ) == "明天 10:00"
    assert timeparse.describe(local(11, 30, 14), now=NOW, tz=TZ) == "11月30日(周六) 14:00"
