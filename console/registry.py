"""The console's route registry: every route declares its minimum role where it is defined.

`@route("GET", "/staff", role=ROLE_SUPERVISOR, nav=Nav("员工与角色", 90))` registers a handler
and wraps it with the one permission check (console.auth.require); the app mounts ROUTES, and
the authz-matrix, XSS, CSP and CSRF tests iterate over ROUTES, so a new page is covered by
adding it here and nowhere else.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from bot.core import bodies
from console import auth

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIX = "/console"


@dataclass(frozen=True, slots=True)
class Nav:
    """A left-nav entry: its label and its place (ascending order)."""

    label: str
    order: int


@dataclass(frozen=True, slots=True)
class ConsoleRoute:
    """One console route and what the tests need to exercise it."""

    method: str
    path: str  # under /console, e.g. "/staff/{userid}/role"
    handler: Handler
    role: str | None  # minimum role; None: public (the sign-in routes only)
    nav: Nav | None = None
    # Path parameters that make a working URL in the test fixtures (tests/console/conftest.py).
    sample: Mapping[str, str] = field(default_factory=dict)
    # A body the route accepts from its form (tests add or drop the CSRF token).
    form: Mapping[str, str] = field(default_factory=dict)

    @property
    def full_path(self) -> str:
        """The path as the browser sees it, parameters unfilled."""
        return PREFIX + self.path

    def example_url(self) -> str:
        """A concrete URL for this route with its sample parameters."""
        path = self.full_path
        for key, value in self.sample.items():
            path = path.replace("{" + key + "}", value)
        return path


ROUTES: list[ConsoleRoute] = []


def route(
    method: str,
    path: str,
    *,
    role: str | None,
    nav: Nav | None = None,
    sample: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    max_body: int | None = None,
) -> Callable[[Handler], Handler]:
    """Register a console route with its minimum role (None only for the sign-in routes);
    max_body raises the body limit (an upload) for live sessions of members with that role."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            if role is not None:
                await auth.require(request, role)
            return await handler(request)

        if max_body is not None:
            if role is None:
                raise ValueError("a larger body limit needs a signed-in role")
            minimum = role

            async def admitted(request: web.Request) -> bool:
                return await auth.may_upload(request, minimum)

            bodies.allow_large_body(max_body, admitted)(guarded)
        ROUTES.append(
            ConsoleRoute(
                method=method.upper(),
                path=path,
                handler=guarded,
                role=role,
                nav=nav,
                sample=dict(sample or {}),
                form=dict(form or {}),
            )  # fmt: skip
        )
        return guarded

    return register


def add_to(app: web.Application) -> None:
    """Mount every registered route on the console sub-app."""
    for entry in ROUTES:
        app.router.add_route(entry.method, entry.path, entry.handler)


def nav_for(role: str) -> list[tuple[str, str]]:
    """(label, url) of the pages a role may open, in nav order."""
    entries = [r for r in ROUTES if r.nav is not None and r.role is not None]
    visible = [r for r in entries if auth.allowed(role, r.role or "")]
    visible.sort(key=lambda r: r.nav.order if r.nav else 0)
    return [(r.nav.label, r.full_path) for r in visible if r.nav]
