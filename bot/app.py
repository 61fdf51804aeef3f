"""create_app(settings): the composition root, the only place that wires features in."""

from __future__ import annotations

import uuid

from aiohttp import web

from bot import health
from bot.core import resources, tasks
from bot.core.clock import Clock
from bot.core.keys import CLOCK, CRYPTO, INSTANCE, ROUTER, SETTINGS
from bot.core.log import configure_logging
from bot.core.settings import Settings, load_settings
from bot.domain import directory, kb
from bot.inbound import callback, dispatch, inbox_writer
from bot.inbound.router import EventRouter
from bot.outbox import sender
from bot.wecom import client
from bot.wecom.crypto import WeComCrypto
from handlers import contacts, ingest, kf, reminders, welcome
from handlers.commands import chat
from handlers.contacts import tag_events
from sidebar import app as sidebar_app


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """Build the whole server for these settings; no I/O happens until it starts."""
    app = web.Application(client_max_size=callback.MAX_BODY)
    app[SETTINGS] = settings
    app[CLOCK] = clock or Clock()
    app[INSTANCE] = uuid.uuid4().hex[:12]
    app[CRYPTO] = WeComCrypto(
        settings.token.get_secret_value(),
        settings.aes_key.get_secret_value(),
        settings.corp_id,
    )
    router = EventRouter()
    # Every feature that answers WeCom's callbacks, in one readable list.
    router.include(
        chat.router,
        tag_events.router,
        welcome.router,
        contacts.router,
        kf.router,
    )
    app[ROUTER] = router

    app.cleanup_ctx.extend([resources.http_ctx, resources.cache_ctx, resources.db_ctx])
    if settings.sandbox:
        from bot.sandbox import demo

        demo.mount(app)  # the fake WeCom on this server, under /sandbox/wecom/
        app.cleanup_ctx.append(demo.seed_ctx)  # demo KB, channels, templates (before kb_ctx)
        app.router.add_get("/sandbox", sidebar_app.sandbox_entry)  # the simulator page
        app.router.add_get("/sandbox/", sidebar_app.sandbox_entry)
    app.cleanup_ctx.extend(
        [
            inbox_writer.inbox_writer_ctx,
            client.wecom_ctx,
            sender.outbox_ctx,
            kb.kb_ctx,
            # After what handlers use: cleanup runs in reverse, so on shutdown the handlers
            # still running finish (or are cancelled) before the writer, database and
            # session they need are closed.
            tasks.tasks_ctx,
            kb.poll_ctx,
            directory.directory_ctx,
            dispatch.sweeper_ctx,
            reminders.scheduler_ctx,
            resources.gc_freeze_ctx,
        ]
    )
    app.add_routes(callback.routes)
    app.add_routes(health.routes)
    app.add_routes(ingest.routes)
    app.add_subapp("/sidebar", sidebar_app.create_sidebar_app())
    return app


async def app_factory() -> web.Application:
    """Entry point for gunicorn's aiohttp worker: settings from the environment."""
    settings = load_settings()
    configure_logging(settings)  # the same log policy as `python -m bot` (quiet drivers)
    return create_app(settings)
