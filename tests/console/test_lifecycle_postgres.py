"""The lifecycle pages on PostgreSQL: every page and filter renders for an admin and a
supervisor (GROUP BY on expressions, NULLS LAST, JSON audit details), and the supervisor's
pages stay in scope."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp

from tests.console import seed
from tests.console.test_explain import _start, signed_in_cookie

URLS = [
    "/console/stages", "/console/stages?grain=month&rep=rep2",
    "/console/stages?format=csv&table=reps",
    f"/console/stages/reached?stage={quote('意向明确')}",
    "/console/customers", f"/console/customers?stage={quote('意向明确')}&tier={quote('未互动')}",
    f"/console/customers?tag={quote('高意向' + seed.XSS)}&q=x", "/console/customers/wmcust2000001",
    "/console/sop", "/console/sop/rule/xss-rule?status=task", "/console/sop?format=yaml",
    "/console/pool", f"/console/pool?stage={quote('报价阶段')}&tier={quote('高活跃')}&dept=2",
]  # fmt: skip


async def test_lifecycle_pages_render_on_postgres(
    pg_url: str, aiohttp_unused_port: Any, aiohttp_server: Any
) -> None:
    server = await _start(pg_url, aiohttp_unused_port, aiohttp_server)
    for userid in ("boss", "sup2"):
        cookies = await signed_in_cookie(server, userid)
        async with aiohttp.ClientSession(cookies=cookies) as http:
            for url in URLS:
                async with http.get(server.make_url(url), allow_redirects=False) as resp:
                    body = await resp.text()
                    assert resp.status == 200, (userid, url, resp.status, body[:300])
                    if userid == "sup2":
                        assert seed.DEPT3_SECRET not in body, url
