"""create_app(settings): the composition root, the only place that wires features in."""

from __future__ import annotations

import uuid

from aiohttp import web

import handlers
from bot import callback, dispatch, ingest, kb, resources, scheduler, tasks, web_pages
from bot.flows import channels
from bot.keys import CRYPTO, INSTANCE, ROUTER, SETTINGS
from bot.router import EventRouter
from bot.settings import Settings
from bot.wecom.crypto import WeComCrypto
from sidebar import app as sidebar_app


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
            resources.http_ctx,
            resources.cache_ctx,
            resources.db_ctx,
            resources.inbox_writer_ctx,
            resources.wecom_ctx,
            kb.kb_ctx,
            # After what handlers use: cleanup runs in reverse, so on shutdown the handlers
            # still running finish (or are cancelled) before the writer, database and
            # session they need are closed.
            tasks.tasks_ctx,
            kb.poll_ctx,
            dispatch.sweeper_ctx,
            scheduler.scheduler_ctx,
            resources.gc_freeze_ctx,
        ]
    )
    app.add_routes(callback.routes)
    app.add_routes(web_pages.routes)
    app.add_routes(ingest.routes)
    app.add_subapp("/sidebar", sidebar_app.create_sidebar_app())
    if settings.sandbox:
        from bot import sandbox

        sandbox.mount(app)
        app.router.add_get("/sandbox", sidebar_app.sandbox_entry)  # the simulator page
        app.cleanup_ctx.append(channels.demo_ctx)  # demo channels + welcome templates
    return app


async def app_factory() -> web.Application:
    """Entry point for gunicorn's aiohttp worker: settings from the environment."""
    from bot.__main__ import load_settings
    from bot.log import configure_logging

    settings = load_settings()
    configure_logging(settings)  # the same log policy as `python -m bot` (quiet drivers)
    return create_app(settings)
