"""The dashboard's period: a day, a week (Monday first) or a month in the corp's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.core.keys import CLOCK, SETTINGS

if TYPE_CHECKING:
    from console.scope import Scope

GRAINS = {"day": "按日", "week": "按周", "month": "按月"}
TREND_BUCKETS = 12
# A ?date= outside these is a typo or a probe: 0001-01-01 or 9999-12-31 would overflow
# datetime while the trend steps a year back or the period end a grain forward (a 500).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) as aware datetimes, with how to name and move it."""

    grain: str
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        """How the page names the period."""
        if self.grain == "day":
            return f"{self.start:%Y-%m-%d}"
        if self.grain == "week":
            return f"{self.start:%Y-%m-%d} ~ {self.end - timedelta(days=1):%m-%d}"
        return f"{self.start:%Y年%m月}"

    @property
    def short(self) -> str:
        """A chart axis label."""
        return f"{self.start:%m-%d}" if self.grain != "month" else f"{self.start:%Y-%m}"

    def shifted(self, steps: int) -> Period:
        """The period `steps` grains later (earlier when negative)."""
        return period_of(self.grain, self.start.date(), self.start.tzinfo, steps)  # type: ignore[arg-type]

    def query_args(self) -> dict[str, str]:
        """?grain=&date= for links to this period."""
        return {"grain": self.grain, "date": f"{self.start:%Y-%m-%d}"}


def period_of(grain: str, day: date, tz: ZoneInfo, steps: int = 0) -> Period:
    """The day, week or month containing `day`, moved by `steps` grains."""
    if grain == "day":
        first = day + timedelta(days=steps)
        last = first + timedelta(days=1)
    elif grain == "week":
        first = day - timedelta(days=day.weekday()) + timedelta(weeks=steps)
        last = first + timedelta(weeks=1)
    else:
        months = day.year * 12 + day.month - 1 + steps
        first = date(months // 12, months % 12 + 1, 1)
        last = date((months + 1) // 12, (months + 1) % 12 + 1, 1)
    start = datetime.combine(first, time(), tzinfo=tz)
    return Period(grain, start, datetime.combine(last, time(), tzinfo=tz))


def parse_day(raw: object) -> date | None:
    """A YYYY-MM-DD query value as a date; None when malformed or out of range."""
    try:
        day = date.fromisoformat(str(raw or ""))
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def parse(query: Any, *, now: datetime, tz: ZoneInfo) -> Period:
    """?grain=day|week|month&date=YYYY-MM-DD (defaults: this week; bad values: the default)."""
    grain = str(query.get("grain", "week"))
    grain = grain if grain in GRAINS else "week"
    day = parse_day(query.get("date")) or now.astimezone(tz).date()
    return period_of(grain, day, tz)


def trend(period: Period) -> list[Period]:
    """The TREND_BUCKETS periods ending with this one, oldest first."""
    return [period.shifted(-n) for n in range(TREND_BUCKETS - 1, -1, -1)]


def of_request(request: web.Request) -> tuple[ZoneInfo, datetime, Period]:
    """The corp's time zone, the clock's now and the request's ?grain=&date= period."""
    tz = ZoneInfo(request.config_dict[SETTINGS].timezone)
    now = request.config_dict[CLOCK].now()
    return tz, now, parse(request.query, now=now, tz=tz)


def filter_bar(period: Period, scope: Scope) -> dict[str, Any]:
    """What the period/department/rep filter bar (_period_filters.html) shows, bar the picks."""
    return {
        "period": period,
        "grains": GRAINS,
        "scope": scope,
        "prev": {**period.shifted(-1).query_args(), **scope.query_args()},
        "next": {**period.shifted(1).query_args(), **scope.query_args()},
    }
