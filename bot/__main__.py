"""`python -m bot` starts the server; `python -m bot db upgrade` applies migrations."""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web

from bot.core import migrate
from bot.core.log import configure_logging
from bot.core.settings import Settings, load_settings


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run it."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["channels"]:
        from bot.domain import channels

        sys.exit(channels.main(args_list[1:]))
    parser = argparse.ArgumentParser(prog="python -m bot", description="WeCom Sidekick server")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the server (default)")
    db_cmd = sub.add_parser("db", help="database migrations")
    db_sub = db_cmd.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply all migrations")
    rev = db_sub.add_parser("revision", help="autogenerate a migration from the models")
    rev.add_argument("-m", "--message", required=True)
    sub.add_parser("parked", help="list inbox rows that kept failing")
    sub.add_parser("channels", help="import channels and welcome templates", add_help=False)
    args = parser.parse_args(args_list)

    settings = load_settings()
    configure_logging(settings)
    if args.command == "db":
        if args.db_command == "upgrade":
            migrate.upgrade(settings.database_url)
            print("数据库已是最新 (migrations applied)")
        else:
            migrate.make_revision(settings.database_url, args.message)
        return
    if args.command == "parked":
        asyncio.run(_print_parked(settings))
        return
    from bot.app import create_app

    if settings.sandbox:
        base = f"http://{settings.host}:{settings.port}"
        print(f"WeCom Sidekick 沙盒模式: 打开 {base}/sandbox", flush=True)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        loop=_new_loop(),
    )


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it exists: about twice the callback throughput of the default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def _print_parked(settings: Settings) -> None:
    from bot.core import db
    from bot.inbound import inbox

    engine = db.create_engine(settings.database_url)
    async with db.create_sessionmaker(engine)() as session:
        for item in await inbox.parked(session):
            print(f"{item.id}\t{item.kind}\t{item.attempts}\t{item.last_error}")
    await engine.dispose()


if __name__ == "__main__":
    main()
