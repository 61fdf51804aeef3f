"""The time source for everything time-based; tests swap in a ManualClock instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        """Timezone-aware now in UTC."""
        return datetime.now(UTC)

    def timestamp(self) -> float:
        """Seconds since the epoch (for WeCom's unix-second fields and rate windows)."""
        return self.now().timestamp()


class ManualClock(Clock):
    """A clock that moves only when told to (tests run a month in milliseconds)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        """The set time."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to a time (aware)."""
        self._now = when

    def advance(self, seconds: float) -> datetime:
        """Move forward and return the new time."""
        self._now += timedelta(seconds=seconds)
        return self._now
