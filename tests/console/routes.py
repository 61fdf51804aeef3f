"""What the registry-driven tests iterate over: every console route, and who may use it."""

from __future__ import annotations

from bot.domain import staff as staff_service
from console import app as _app  # noqa: F401  (imports every page module: fills the registry)
from console.registry import ROUTES, ConsoleRoute

# The role each test identity has (the departed one had a supervisor's role before leaving).
ROLE_OF = {"rep": "rep", "supervisor": "supervisor", "admin": "admin"}


def guarded() -> list[ConsoleRoute]:
    """Every route behind the permission check; sign-out last (it ends the session)."""
    found = [r for r in ROUTES if r.role is not None]
    return sorted(found, key=lambda r: r.path == "/auth/logout")


def pages() -> list[ConsoleRoute]:
    """Every guarded GET route."""
    return [r for r in guarded() if r.method == "GET"]


def changes() -> list[ConsoleRoute]:
    """Every guarded route that changes something."""
    return [r for r in guarded() if r.method not in ("GET", "HEAD")]


def may(identity: str, entry: ConsoleRoute) -> bool:
    """Whether an identity passes a route's check."""
    role = ROLE_OF.get(identity)
    if role is None or entry.role is None:
        return False
    return staff_service.rank(role) >= staff_service.rank(entry.role)
