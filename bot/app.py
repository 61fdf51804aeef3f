"""create_app(settings): the composition root, the only place that wires features in."""

from __future__ import annotations

import asyncio
import sys
import uuid

from aiohttp import web

from bot import health
from bot.archive import process as archive_process
from bot.archive import sdk as archive_sdk
from bot.core import bodies, migrate, resources, tasks
from bot.core.clock import Clock
from bot.core.errors import ConfigError
from bot.core.keys import CLOCK, CRYPTO, INSTANCE, ROUTER, SETTINGS
from bot.core.log import configure_logging
from bot.core.settings import Settings, load_settings
from bot.domain import directory, kb
from bot.inbound import callback, dispatch, inbox_writer, retention
from bot.inbound.router import EventRouter
from bot.outbox import sender
from bot.wecom import client
from bot.wecom.crypto import WeComCrypto
from console import app as console_app
from handlers import contacts, ingest, kf, reminders, welcome
from handlers import sop as sop_scheduler
from handlers.commands import chat
from handlers.contacts import tag_events
from sidebar import app as sidebar_app

GUNICORN_BOOT_ERROR = 3


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """Build the whole server for these settings; no I/O happens until it starts."""
    # Every face's bodies are read in full within a deadline before its handlers run.
    app = web.Application(
        client_max_size=callback.MAX_BODY, middlewares=[bodies.read_body_middleware]
    )
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

        if not settings.wecom_api_base:  # else a standalone fake (`python -m bot fake-wecom`)
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
            dispatch.release_ctx,  # its cleanup runs after the handlers' (tasks_ctx)
            # After what handlers use: cleanup runs in reverse, so on shutdown the handlers
            # still running finish (or are cancelled) before the writer, database and
            # session they need are closed.
            tasks.tasks_ctx,
            kb.poll_ctx,
            kb.recalibrate_ctx,
            directory.directory_ctx,
            dispatch.sweeper_ctx,
            reminders.scheduler_ctx,
            retention.purge_ctx,
            resources.gc_freeze_ctx,
        ]
    )
    app.cleanup_ctx.append(sop_scheduler.sop_ctx)  # issue 13: the SOP scheduler
    app.on_response_prepare.append(health.security_headers)
    app.add_routes(callback.routes)
    app.add_routes(health.routes)
    app.add_routes(ingest.routes)
    app.add_subapp("/sidebar", sidebar_app.create_sidebar_app())
    # Before the sub-app, whose prefix would otherwise take the bare /console (a 404 there).
    app.router.add_get("/console", console_app.console_entry)
    app.add_subapp("/console", console_app.create_console_app())
    if settings.sandbox:  # the chat-archive puller, on the fake archive, in the sandbox itself
        from bot.sandbox import fake_archive

        app.cleanup_ctx.append(archive_process.puller_ctx(fake_archive.open_source))
    return app


async def app_factory() -> web.Application:
    """Entry point for gunicorn's aiohttp worker: settings from the environment."""
    settings = load_settings()
    configure_logging(settings)  # the same log policy as `python -m bot` (quiet drivers)
    if settings.sandbox and not settings.wecom_api_base:
        from bot.sandbox import standalone

        try:
            standalone.check_single_worker(settings)
        except ConfigError as exc:
            sys.stderr.write(f"配置错误 config error: {exc}\n")
            # 3 is gunicorn's "worker failed to boot": the arbiter stops instead of
            # starting the worker again and again.
            sys.exit(GUNICORN_BOOT_ERROR)
    try:
        # SQLite: the first worker migrates under a file lock, the others find it done.
        await asyncio.to_thread(migrate.ensure_schema, settings.database_url)
    except migrate.SchemaError as exc:
        sys.exit(str(exc))
    return create_app(settings)


def create_archive_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """`python -m bot archive`: the chat-archive puller and what its pipeline needs; no site."""
    app = web.Application()
    app[SETTINGS] = settings
    app[CLOCK] = clock or Clock()
    app[INSTANCE] = uuid.uuid4().hex[:12]
    app.cleanup_ctx.extend(
        [resources.http_ctx, resources.cache_ctx, resources.db_ctx, client.wecom_ctx, kb.kb_ctx,
         tasks.tasks_ctx, kb.poll_ctx]
    )  # fmt: skip
    if settings.sandbox:  # a standalone fake WeCom (python -m bot fake-wecom) holds the archive
        from bot.sandbox import fake_archive

        app.cleanup_ctx.append(archive_process.puller_ctx(fake_archive.open_source))
    else:
        app.cleanup_ctx.append(archive_process.puller_ctx(archive_sdk.open_source))
    return app
