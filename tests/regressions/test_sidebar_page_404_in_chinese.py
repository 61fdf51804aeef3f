"""A sidebar page address that does not exist answered aiohttp's plain English "404: Not Found"
in the member's webview; it is the sidebar's Chinese error page now (the API keeps JSON)."""

from __future__ import annotations

from tests.sidebar.conftest import Client


async def test_unknown_sidebar_page_is_a_chinese_page(client: Client) -> None:
    for method, path in (("GET", "/sidebar/nope"), ("POST", "/sidebar/")):
        resp = await client.request(method, path)
        assert resp.status in (404, 405), path
        assert resp.content_type == "text/html"
        body = await resp.text()
        assert "Not Found" not in body
        assert "Method Not Allowed" not in body
        assert "找不到这个地址" in body or "不支持这种请求方式" in body
        assert "default-src" in resp.headers.get("Content-Security-Policy", "")


async def test_api_404_stays_json(client: Client) -> None:
    resp = await client.get("/sidebar/api/nope")
    assert resp.status == 401  # the session check comes first, as before
    assert resp.content_type == "application/json"
