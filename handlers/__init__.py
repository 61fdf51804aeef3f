"""What happens when an event arrives; each module exposes a `router`."""

from __future__ import annotations

from bot.router import EventRouter
from handlers import contact, hint, kf, tag_events, welcome


def routers() -> list[EventRouter]:
    """Every feature's router, in one readable list."""
    return [hint.router, tag_events.router, welcome.router, contact.router, kf.router]
