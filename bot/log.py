"""Logging set-up; called once, from the entry point."""

from __future__ import annotations

import logging

from bot.settings import Settings


def configure_logging(settings: Settings) -> None:
    """One line per record, with time, level and module."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiohttp's access log repeats the callback line; keep it for the rest at WARNING.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
