"""How the console writes times, waits and rates (Chinese, the corp's time zone)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def wait(seconds: float | None) -> str:
    """3秒 / 4分12秒 / 2小时5分 / 3天4小时; "—" when there is none."""
    if seconds is None:
        return "—"
    s = max(0, round(seconds))  # julianday arithmetic is a float: 3599.9999 is an hour
    if s < 60:
        return f"{s}秒"
    if s < 3600:
        return f"{s // 60}分{s % 60}秒"
    if s < 86400:
        return f"{s // 3600}小时{s % 3600 // 60}分"
    return f"{s // 86400}天{s % 86400 // 3600}小时"


def rate(value: float | None) -> str:
    """A share as a percentage; "—" when undefined."""
    return "—" if value is None else f"{value * 100:.1f}%"


def when(value: datetime | None, tz: ZoneInfo) -> str:
    """A local date and time."""
    return "" if value is None else f"{value.astimezone(tz):%Y-%m-%d %H:%M}"
