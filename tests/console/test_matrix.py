"""The authz matrix in headless Chromium: every console route for a rep, a supervisor of
department 2 (with a customer in department 3 they must not see), an admin, no session and a
member who left; routes come from the registry, so new pages are covered automatically."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from bot.core.keys import DB
from bot.domain.models import Staff
from tests.console import routes, seed
from tests.console.conftest import SignIn


async def _deactivate(server: TestServer, userid: str) -> None:
    async with server.app[DB].begin() as db:
        staff = await db.get(Staff, userid)
        assert staff is not None
        staff.active = False  # what the directory sync does when WeCom says they left


async def _visit(tab: Any, server: TestServer, url: str) -> tuple[int, str]:
    response = await tab.page.goto(str(server.make_url(url)))
    return response.status, tab.page.url


async def test_authz_matrix_on_every_route(server: TestServer, sign_in: SignIn) -> None:
    tabs = {
        "rep": await sign_in(seed.IDENTITIES["rep"]),
        "supervisor": await sign_in(seed.IDENTITIES["supervisor"]),
        "admin": await sign_in(seed.IDENTITIES["admin"]),
        "departed": await sign_in("leaver"),
        "anonymous": await sign_in(None),
    }
    await _deactivate(server, "leaver")  # left the corp after signing in
    assert routes.pages()
    assert routes.changes()
    failures = []
    for entry in routes.pages():
        url = entry.example_url()
        for identity, tab in tabs.items():
            status, landed = await _visit(tab, server, url)
            if identity == "anonymous":
                ok = "/wwlogin/sso/login" in landed  # sent to sign in
            elif identity == "departed":
                ok = status == 403 and "停用" in await tab.page.inner_text("body")
            elif routes.may(identity, entry):
                ok = status == 200
            else:
                ok = status == 403 and "权限" in await tab.page.title()
            if not ok:
                failures.append(f"GET {url} as {identity}: {status} at {landed}")
    for entry in routes.changes():
        url = entry.example_url()
        for identity, tab in tabs.items():
            if identity == "anonymous":
                await tab.page.goto(str(server.make_url("/console/auth/signed-out")))
                token = None
            else:
                await tab.page.goto(str(server.make_url("/console/auth/signed-out")))
                token = await tab.csrf(server)
            status = await tab.post(url, dict(entry.form), token)
            if identity == "anonymous":
                ok = status == 401
            elif identity == "departed" or not routes.may(identity, entry):
                ok = status == 403
            else:
                ok = status not in (401, 403) and status < 500
            if not ok:
                failures.append(f"{entry.method} {url} as {identity}: {status}")
    assert failures == []


async def test_departed_member_cannot_sign_in(sign_in: SignIn) -> None:
    tab = await sign_in("gone")
    assert "停用" in await tab.page.inner_text("body")
    assert await tab.page.locator("[data-status='403']").count() == 1


async def test_supervisor_sees_only_their_departments(server: TestServer, sign_in: SignIn) -> None:
    supervisor = await sign_in(seed.IDENTITIES["supervisor"])
    admin = await sign_in(seed.IDENTITIES["admin"])
    seen_by_admin = ""
    for entry in routes.pages():
        if not routes.may("supervisor", entry):
            continue
        url = entry.example_url()
        await _visit(supervisor, server, url)
        text = await supervisor.page.inner_text("body")
        assert seed.DEPT3_SECRET not in text, url
        assert "三组客服" not in text, url
        await _visit(admin, server, url)
        seen_by_admin += await admin.page.inner_text("body")
    assert "三组客服" in seen_by_admin  # the check above is not vacuous
    # Narrowing never widens: another department or its rep is refused.
    for query in ("dept=3", "rep=rep3"):
        for entry in routes.pages():
            if routes.may("supervisor", entry) and "{" not in entry.path and entry.path != "/":
                status, _ = await _visit(supervisor, server, f"{entry.full_path}?{query}")
                assert status in (200, 403), (entry.path, query)
                if status == 200:  # the page ignores the narrowing: it must still be scoped
                    text = await supervisor.page.inner_text("body")
                    assert "三组客服" not in text
                    assert seed.DEPT3_SECRET not in text
    status, _ = await _visit(supervisor, server, "/console/staff?dept=3")
    assert status == 403
