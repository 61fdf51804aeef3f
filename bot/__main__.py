"""`python -m bot` starts the server; `python -m bot db upgrade` applies migrations."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from aiohttp import web
from sqlalchemy.engine import make_url

from bot.core import migrate
from bot.core.log import configure_logging
from bot.core.settings import Settings, load_settings


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run it."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["channels"]:
        from bot.domain import channels

        sys.exit(channels.main(args_list[1:]))
    if args_list[:1] == ["sop"]:  # issue 13: SOP rules as YAML
        from bot.domain.sop import cli as sop_cli

        sys.exit(sop_cli.main(args_list[1:]))
    parser = argparse.ArgumentParser(prog="python -m bot", description="WeCom Sidekick server")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the server (default)")
    sub.add_parser("check", help="check the server's settings and exit (nothing secret printed)")
    db_cmd = sub.add_parser("db", help="database migrations")
    db_sub = db_cmd.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply all migrations")
    rev = db_sub.add_parser("revision", help="autogenerate a migration from the models")
    rev.add_argument("-m", "--message", required=True)
    sub.add_parser("parked", help="list callbacks and outbox effects that kept failing")
    eff = sub.add_parser("effects", help="retry or discard a parked outbox effect")
    eff.add_argument("action", choices=["retry", "discard"])
    eff.add_argument("effect_id", type=int)
    sub.add_parser("purge", help="apply the retention periods now (SIDEKICK_RETAIN_*)")
    cust = sub.add_parser("customer", help="one customer's personal data: export or erase")
    cust_sub = cust.add_subparsers(dest="customer_command", required=True)
    exp = cust_sub.add_parser("export", help="everything held about the customer, as JSON")
    exp.add_argument("external_userid")
    exp.add_argument("-o", "--output", help="write to this file (default: standard output)")
    era = cust_sub.add_parser(
        "erase", help="erase the customer: run once for a code, again with --code to do it"
    )
    era.add_argument("external_userid")
    era.add_argument("--code", help="the confirmation code the first run printed")
    sub.add_parser("channels", help="import channels and welcome templates", add_help=False)
    sub.add_parser("sop", help="import / export SOP rules (YAML)", add_help=False)
    fake_cmd = sub.add_parser("fake-wecom", help="serve one fake WeCom for sandbox workers")
    fake_cmd.add_argument("--port", type=int, default=9090)
    fake_cmd.add_argument("--host", default="127.0.0.1")
    fake_cmd.add_argument(
        "--callback",
        required=True,
        help="the server's callback URL, e.g. http://127.0.0.1:8080/wecom/callback",
    )
    args = parser.parse_args(args_list)

    # Only the server needs WeCom's settings; the admin commands need the database alone.
    settings = load_settings(complete=args.command in (None, "serve", "check", "fake-wecom"))
    configure_logging(settings)
    if args.command == "check":
        mode = "sandbox" if settings.sandbox else "production"
        print(f"配置无误 settings OK: {mode}, WeCom API {settings.api_base}, "
              f"database {make_url(settings.database_url).render_as_string(hide_password=True)}")
        return
    if args.command == "db":
        if args.db_command == "upgrade":
            print(migrate.upgrade(settings.database_url).describe())
        else:
            migrate.make_revision(settings.database_url, args.message)
        return
    if args.command in ("parked", "effects", "purge", "customer"):
        _require_schema(settings)
    if args.command == "parked":
        asyncio.run(_print_parked(settings))
        return
    if args.command == "effects":
        sys.exit(asyncio.run(_change_effect(settings, args.action, args.effect_id)))
    if args.command == "fake-wecom":
        _serve_fake(settings, args.host, args.port, args.callback)
        return
    if args.command == "purge":
        asyncio.run(_purge(settings))
        return
    if args.command == "customer":
        sys.exit(asyncio.run(_customer(settings, args)))
    from bot.app import create_app

    _ensure_schema(settings)
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


def _serve_fake(settings: Settings, host: str, port: int, callback: str) -> None:
    """One fake WeCom process (the settings' corp and secrets) that every worker shares."""
    from bot.sandbox import demo, standalone

    fake = standalone.build(settings, callback)
    demo.seed_members(fake)
    print(f"模拟企业微信 fake WeCom: WECOM_API_BASE=http://{host}:{port}/sandbox/wecom, "
          f"callbacks to {callback}", flush=True)  # fmt: skip
    web.run_app(standalone.create_app(fake), host=host, port=port, print=None)


def _ensure_schema(settings: Settings) -> None:
    """SQLite: migrate now; elsewhere: stop with the command to run if the schema is behind."""
    try:
        # It logs what it did; printing that too showed the line twice at start.
        migrate.ensure_schema(settings.database_url)
    except migrate.SchemaError as exc:
        sys.exit(str(exc))


def _require_schema(settings: Settings) -> None:
    """Admin commands: stop with the command to run when the schema is missing or behind."""
    try:
        migrate.require_current(settings.database_url)
    except migrate.SchemaError as exc:
        sys.exit(str(exc))


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
    from bot.outbox import effects

    engine = db.create_engine(settings.database_url)
    async with db.create_sessionmaker(engine)() as session:
        items = await inbox.parked(session)
        parked = await effects.parked(session)
    await engine.dispose()
    if not items and not parked:
        print("没有搁置的回调或操作 (nothing parked)")
        return
    if items:
        print("搁置的回调 parked callbacks: id, kind, attempts, last error")
        for item in items:
            print(f"{item.id}\t{item.kind}\t{item.attempts}\t{item.last_error}")
    if parked:
        print("搁置的操作 parked effects: id, kind, attempts, errcode, last error")
        for effect in parked:
            print(f"{effect.id}\t{effect.kind}\t{effect.attempts}\t{effect.last_errcode}\t"
                  f"{effect.last_error}")  # fmt: skip
        print("重试 retry: python -m bot effects retry ID；放弃 discard: python -m bot effects "
              "discard ID")  # fmt: skip


async def _change_effect(settings: Settings, action: str, effect_id: int) -> int:
    from bot.core import db
    from bot.core.errors import UserError
    from bot.domain import audit
    from bot.outbox import effects

    engine = db.create_engine(settings.database_url)
    try:
        async with db.create_sessionmaker(engine).begin() as session:
            change = effects.retry if action == "retry" else effects.discard
            effect = await change(session, effect_id)
            await audit.record(session, actor="cli", action=f"effect_{action}",
                               target=str(effect_id), detail={"kind": effect.kind})  # fmt: skip
    except UserError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    word = "将重试 will be retried by a running server" if action == "retry" else "已放弃"
    print(f"#{effect_id} {effect.kind}: {word}")
    return 0


async def _purge(settings: Settings) -> None:
    from bot.core import db
    from bot.core.clock import Clock
    from bot.inbound import retention

    engine = db.create_engine(settings.database_url)
    try:
        purged = await retention.purge(db.create_sessionmaker(engine), settings, Clock().now())
    finally:
        await engine.dispose()
    print(purged.describe(settings))


async def _customer(settings: Settings, args: argparse.Namespace) -> int:
    """`customer export|erase`: the CLI face of bot.domain.privacy (audited as actor "cli")."""
    from bot.core import db
    from bot.core.clock import Clock
    from bot.core.errors import UserError
    from bot.domain import privacy

    euid, now, out = args.external_userid, Clock().now(), ""
    engine = db.create_engine(settings.database_url)
    try:
        async with db.create_sessionmaker(engine).begin() as session:
            held = await privacy.holdings(session, euid)
            if args.customer_command == "export":
                body = await privacy.export(session, euid, now)
                await privacy.record_export(session, actor="cli", external_userid=euid,
                                            where=args.output or "stdout", held=held)  # fmt: skip
                out = json.dumps(body, ensure_ascii=False, indent=1)
            elif args.code is None:
                code = await privacy.request_erasure(session, actor="cli", external_userid=euid,
                                                     now=now)  # fmt: skip
                out = (f"将删除 will erase {euid}: {held.describe()}；并移除企业微信里我们打的"
                       f"标签、清空备注。不可撤销 cannot be undone.\n确认 confirm within 5 "
                       f"minutes: python -m bot customer erase {euid} --code {code}")  # fmt: skip
            else:
                held = await privacy.confirm_erasure(
                    session, actor="cli", external_userid=euid, code=args.code, now=now,
                    data_dir=settings.data_dir,
                )  # fmt: skip
                out = (f"已删除 erased: {held.describe()}。企业微信的更改由运行中的服务发送 "
                       f"(a running server sends the WeCom changes). 审计 audit: "
                       f"{privacy.subject_ref(euid)}")  # fmt: skip
    except UserError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    if args.customer_command == "export" and args.output:
        privacy.write_file(args.output, out)
        out = f"已导出 exported to {args.output}: {held.describe()}"
    print(out)
    return 0


if __name__ == "__main__":
    main()
