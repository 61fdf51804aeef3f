"""What happens when an event arrives; each module exposes a `router`."""

from __future__ import annotations

from bot.router import EventRouter
from handlers import hint


def routers() -> list[EventRouter]:
    """Every feature's router, in one readable list."""
    return [hint.router]
