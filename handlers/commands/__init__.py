"""Slash-command families, one module each; `registry()` composes them (duplicates fail)."""

from __future__ import annotations

from handlers.commands import (
    admin,
    customer_tags,
    help,
    lifecycle,
    pool,
    privacy,
    proposals,
    rep,
    supervisor,
    transfer,
)
from handlers.commands.engine import CommandRouter


def registry() -> CommandRouter:
    """Every command family in one router, in the order /help lists them."""
    return CommandRouter().include(
        help.router,
        customer_tags.router,
        rep.router,
        supervisor.router,
        proposals.router,
        transfer.router,
        lifecycle.router,
        pool.router,
        admin.router,
        privacy.router,
    )
