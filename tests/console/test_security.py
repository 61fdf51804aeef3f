"""CSP on every console page, XSS payloads inert in every field, CSRF on every change: in
headless Chromium, over every route in the registry."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from bot.core import bodies
from bot.core.keys import DB
from bot.domain.models import AuditLog
from console import app as console_app
from console import auth
from tests.console import routes, seed
from tests.console.conftest import SignIn, Tab


async def _scripts_are_files(tab: Tab) -> None:
    """No inline executable script: every <script> has a src or is a JSON data block."""
    inline = await tab.page.locator("script:not([src]):not([type='application/json'])").count()
    assert inline == 0, tab.page.url


async def test_every_page_has_the_csp_and_no_inline_script(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    for entry in routes.pages():
        response = await tab.page.goto(str(server.make_url(entry.example_url())))
        assert response.status == 200, entry.path
        csp = (await response.all_headers())["content-security-policy"]
        assert csp == console_app.CSP, entry.path
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        await tab.page.wait_for_load_state("networkidle")
        await _scripts_are_files(tab)
    # Error pages (403, 404) carry it too.
    rep = await sign_in(seed.IDENTITIES["rep"])
    for tab_, url in ((rep, "/console/staff"), (tab, "/console/no-such-page")):
        response = await tab_.page.goto(str(server.make_url(url)))
        assert response.status in (403, 404)
        assert (await response.all_headers())["content-security-policy"] == console_app.CSP
    assert tab.violations == []
    assert rep.violations == []


async def test_xss_payloads_are_inert_everywhere(server: TestServer, sign_in: SignIn) -> None:
    shown = ""
    for identity in ("admin", "supervisor"):
        tab = await sign_in(seed.IDENTITIES[identity])
        for entry in routes.pages():
            if not routes.may(identity, entry):
                continue
            await tab.page.goto(str(server.make_url(entry.example_url())))
            await tab.page.wait_for_load_state("networkidle")
            assert await tab.page.locator("[data-xss]").count() == 0, entry.path
            await _scripts_are_files(tab)
            shown += await tab.page.inner_text("body")
        assert tab.dialogs == []
    # The payloads reached the pages, as text.
    assert seed.XSS in shown
    assert seed.XSS_SCRIPT in shown


async def _audit_rows(server: TestServer) -> int:
    async with server.app[DB]() as db:
        return len((await db.scalars(AuditLog.__table__.select())).all())


async def test_csrf_on_every_change(server: TestServer, sign_in: SignIn) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    token = await tab.csrf(server)
    assert routes.changes()
    for entry in routes.changes():
        url = entry.example_url()
        before = await _audit_rows(server)
        assert await tab.post(url, dict(entry.form), None) == 403, url
        assert await tab.post(url, dict(entry.form), "forged" + token[6:]) == 403, url
        assert await _audit_rows(server) == before, f"{url} changed something without a token"
    # With the token but from another origin (a cross-site form or fetch): refused too.
    cookies = {c["name"]: c["value"] for c in await tab.context.cookies()}
    async with aiohttp.ClientSession(cookies={auth.COOKIE: cookies[auth.COOKIE]}) as http:
        for entry in routes.changes():
            async with http.post(
                server.make_url(entry.example_url()),
                data={**entry.form, auth.CSRF_FIELD: token},
                headers={"Origin": "https://evil.example"},
                allow_redirects=False,
            ) as resp:
                assert resp.status == 403, entry.path
    # And with it, from our page, each change goes through.
    for entry in routes.changes():
        status = await tab.post(entry.example_url(), dict(entry.form), token)
        assert status not in (401, 403), entry.path


async def _every_page_answers_200(
    server: TestServer, sign_in: SignIn, queries: list[dict[str, str]]
) -> None:
    """Every console page, signed in as admin, with each query: a 200, never a 500."""
    tab = await sign_in(seed.IDENTITIES["admin"])
    cookies = {c["name"]: c["value"] for c in await tab.context.cookies()}
    async with aiohttp.ClientSession(cookies={auth.COOKIE: cookies[auth.COOKIE]}) as http:
        for entry in routes.pages():
            for query in queries:
                url = server.make_url(entry.example_url()).with_query(query)
                async with http.get(url, allow_redirects=False) as resp:
                    assert resp.status == 200, f"{url} -> {resp.status}"


async def test_out_of_range_dates_fall_back_instead_of_500(
    server: TestServer, sign_in: SignIn
) -> None:
    # 0001-01-01 and 9999-12-31 parse as dates but overflow datetime once the period or the
    # trend steps past them: every page must treat them as the bad values they are.
    await _every_page_answers_200(server, sign_in, [
        {key: day, "grain": grain} for day in ("0001-01-01", "9999-12-31")
        for key in ("date", "from", "to") for grain in ("day", "week", "month")
    ])  # fmt: skip


async def test_digits_int_refuses_fall_back_instead_of_500(
    server: TestServer, sign_in: SignIn
) -> None:
    """The digit "²" passes str.isdigit() but int() refuses it: /console/kb?page=² was a 500."""
    await _every_page_answers_200(
        server, sign_in, [{"page": value, "dept": value} for value in ("²", "9" * 40)]
    )


async def test_a_multipart_post_is_a_clear_400_not_a_500(
    server: TestServer, sign_in: SignIn
) -> None:
    """Bodies are read up front, so request.post() on multipart raised: every change was a 500
    (an ERROR traceback per request) for a signed-in script posting multipart/form-data."""
    tab = await sign_in(seed.IDENTITIES["admin"])
    token = await tab.csrf(server)
    cookies = {c["name"]: c["value"] for c in await tab.context.cookies()}
    origin = str(server.make_url("/").origin())
    before = await _audit_rows(server)
    async with aiohttp.ClientSession(cookies={auth.COOKIE: cookies[auth.COOKIE]}) as http:
        for entry in routes.changes():
            form = aiohttp.FormData({**entry.form, auth.CSRF_FIELD: token})
            form.add_field("file", b"id,question,answer\n", filename="kb.csv")
            async with http.post(
                server.make_url(entry.example_url()), data=form, allow_redirects=False,
                headers={"Origin": origin, "Accept": "application/json"},
            ) as resp:  # fmt: skip
                assert resp.status == 400, entry.path
                assert (await resp.json())["message"] == bodies.MULTIPART_REFUSED
    assert await _audit_rows(server) == before
