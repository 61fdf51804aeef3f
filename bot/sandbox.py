"""Sandbox mode: a fake WeCom mounted on the same server, so the product runs with no corp."""

from __future__ import annotations

from aiohttp import web

from bot.keys import FAKE, SETTINGS
from bot.wecom.fake import FakeWeCom


def mount(app: web.Application) -> FakeWeCom:
    """Serve the fake under /sandbox/wecom/ (the client's base_url points there)."""
    settings = app[SETTINGS]
    fake = FakeWeCom(
        corp_id=settings.corp_id,
        secret=settings.secret.get_secret_value(),
        token=settings.token.get_secret_value(),
        aes_key=settings.aes_key.get_secret_value(),
        agent_id=settings.agent_id,
        callback_url=f"http://127.0.0.1:{settings.port}/wecom/callback",
    )
    app[FAKE] = fake
    app.add_subapp("/sandbox/wecom/", fake.app)
    return fake
