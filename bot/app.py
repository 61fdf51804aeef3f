"""create_app(settings): the composition root, the only place that wires features in."""

from __future__ import annotations

import uuid

from aiohttp import web

import handlers
from bot import callback, dispatch, resources, tasks, web_pages
from bot.keys import CRYPTO, INSTANCE, ROUTER, SETTINGS
from bot.router import EventRouter
from bot.settings import Settings
from bot.wecom.crypto import WeComCrypto


def create_app(settings: Settings) -> web.Application:
    """Build the whole server for these settings; no I/O happens until it starts."""
    app = web.Application(client_max_size=callback.MAX_BODY)
    app[SETTINGS] = settings
    app[INSTANCE] = uuid.uuid4().hex[:12]
    app[CRYPTO] = WeComCrypto(
        settings.token.get_secret_value(),
        settings.aes_key.get_secret_value(),
        settings.corp_id,
    )
    router = EventRouter()
    router.include(*handlers.routers())
    app[ROUTER] = router

    app.cleanup_ctx.extend(
        [
            tasks.tasks_ctx,
            resources.http_ctx,
            resources.cache_ctx,
            resources.db_ctx,
            resources.wecom_ctx,
            dispatch.sweeper_ctx,
        ]
    )
    app.add_routes(callback.routes)
    app.add_routes(web_pages.routes)
    if settings.sandbox:
        from bot import sandbox

        sandbox.mount(app)
    return app


async def app_factory() -> web.Application:
    """Entry point for gunicorn's aiohttp worker: settings from the environment."""
    from bot.__main__ import load_settings

    return create_app(load_settings())
