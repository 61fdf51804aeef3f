"""Run one slash-command: parse, answer "/1".."/9" choices, check the role, run, audit.

Permission is decided here and only here; command bodies never re-check the role.
Every attempt is audited, including refusals and failures (in a separate transaction,
because the command's own transaction is rolled back when it fails).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.cache import Cache
from bot.core.db import utcnow
from bot.core.errors import PermissionDeniedError, UserError, WeComError
from bot.core.keys import CACHE, DB, SETTINGS, WECOM
from bot.domain import audit, lookup
from bot.domain import staff as staff_service
from bot.domain.models import Staff
from bot.inbound.router import ClaimLostError, EventContext, Reply
from bot.wecom import errcodes
from handlers.commands.engine import ArgError, Command, CommandRouter, Context, Prep, Role

logger = logging.getLogger(__name__)

SLASHES = ("/", "／")
# How long a "which customer?" question stays answerable with /1../9.
CHOICE_TTL = 300


def choice_key(userid: str) -> str:
    """Cache key of a member's pending customer choice."""
    return f"cmd:choice:{userid}"


def is_command(text: str) -> bool:
    """A text starting with "/" or the full-width "／" is a command."""
    return text.lstrip().startswith(SLASHES)


@dataclass(frozen=True)
class Parsed:
    """A command line split into its name and the rest."""

    name: str
    args: str


def parse(text: str) -> Parsed:
    """Split "/name args" (full-width slash and spaces accepted)."""
    body = text.strip().replace("\u3000", " ")
    body = body[1:] if body.startswith(SLASHES) else body
    name, _, args = body.partition(" ")
    return Parsed(name.strip(), args.strip())


async def handle(ctx: EventContext, registry: CommandRouter, text: str) -> Reply:
    """Answer one command text from a member (the app chat event in ctx)."""
    app, userid = ctx.app, ctx.event.from_user
    parsed = parse(text)
    choices: dict[str, str] = {}
    if parsed.name.isdecimal():  # not isdigit(): "²" is a digit that int() refuses
        picked = await _pop_choice(app[CACHE], userid, int(parsed.name))
        if isinstance(picked, str):
            return await _bare(ctx, "cmd:choice", parsed.name, "not_found", Reply(picked))
        original, ref, euid = picked
        parsed, choices = parse(original), {ref: euid}
    if not parsed.name:  # a lone "/" is a request for help
        parsed = Parsed("help", "")
    glued = registry.split_glued(parsed.name)
    if glued is not None:  # "/跟进张三 回电": a Chinese alias typed without a space
        alias, head = glued
        parsed = Parsed(alias, f"{head} {parsed.args}".strip())
    command = registry.get(parsed.name)
    if command is None:
        return await _unknown(ctx, registry, parsed)
    return await _run(ctx, registry, command, parsed, choices)


async def _bare(ctx: EventContext, action: str, target: str, result: str, reply: Reply) -> Reply:
    """Audit an attempt that never reached a command (unknown name, stale choice) and answer."""
    async with ctx.transaction() as session:
        await audit.record(
            session, actor=ctx.event.from_user, action=action, target=target, result=result
        )
        ctx.reply = reply
    return reply


async def _caller(ctx: EventContext, now: datetime) -> Staff:
    """The calling member, synced from WeCom when due (both before the command's transaction)."""
    app = ctx.app
    return await staff_service.member(
        app[DB], app[SETTINGS], app[WECOM], ctx.event.from_user, now=now
    )


async def _unknown(ctx: EventContext, registry: CommandRouter, parsed: Parsed) -> Reply:
    staff = await _caller(ctx, utcnow())
    hints = registry.suggest(parsed.name, Role.of(staff.role))
    text = f"没有命令 /{parsed.name}。"
    if hints:
        text += "你是不是想输入 " + " 或 ".join(f"/{h}" for h in hints) + "？"
    reply = Reply(text + "\n发送 /help 查看可用命令。")
    return await _bare(ctx, "cmd:?", parsed.name, "unknown", reply)


async def _run(
    ctx: EventContext,
    registry: CommandRouter,
    command: Command,
    parsed: Parsed,
    choices: dict[str, str],
) -> Reply:
    """Check the role, prepare (WeCom reads), then run the command in the row's transaction.

    Nothing here calls WeCom inside the transaction: commands record effects, and a command's
    `prepare` step (reads, creating a missing corp tag) runs before it opens.
    """
    app, userid = ctx.app, ctx.event.from_user
    now = utcnow()
    result, reply = "ok", Reply("")
    try:
        staff = await _caller(ctx, now)
        role = Role.of(staff.role)
        if not staff.active:
            raise PermissionDeniedError("你的账号已停用或已离职，不能再使用命令。")
        if role < command.role:
            raise PermissionDeniedError(
                f"/{command.name} 需要{command.role.label}权限，你目前是{role.label}。"
            )
        prepared = None
        if command.prepare is not None:
            prep = Prep(app=app, user=staff, role=role, wecom=app[WECOM], settings=app[SETTINGS],
                        db=app[DB], now=now)  # fmt: skip
            prepared = await command.prepare(prep, parsed.args)
        async with ctx.transaction() as session:
            session.add(staff)
            context = Context(
                user=staff, role=role, session=session, settings=app[SETTINGS], app=app,
                cache=app[CACHE], now=now, registry=registry, choices=choices,
                prepared=prepared,
            )  # fmt: skip
            reply = await command.func(context, parsed.args)
            await _audit(session, userid, command, parsed, "ok", now)
            ctx.reply = reply
        for hook in context.after_commit:
            await hook()
        return reply
    except ClaimLostError:
        raise
    except lookup.AmbiguousCustomerError as exc:
        await _remember_choice(app[CACHE], userid, parsed, exc)
        result, reply = "ambiguous", Reply(exc.for_chat)
    except ArgError as exc:
        result, reply = "usage", Reply(f"{exc.for_chat}\n{command.usage_text()}")
    except UserError as exc:
        result, reply = exc.code, Reply(exc.for_chat)
    except WeComError as exc:  # a refusal while preparing: say what WeCom said, change nothing
        logger.warning("command refused by wecom cmd=%s errcode=%s", command.name, exc.errcode)
        result, reply = "wecom_error", Reply(f"{errcodes.describe(exc.errcode)}，没有改动。")
    except Exception:  # noqa: BLE001 - a command bug must reach the user as a reference only
        ref = uuid.uuid4().hex[:8]
        logger.exception("command failed cmd=%s user=%s ref=%s", command.name, userid, ref)
        result, reply = "error", Reply(f"出错了，请稍后再试（编号 {ref}）")
    async with ctx.transaction() as session:
        await _audit(session, userid, command, parsed, result, now)
        ctx.reply = reply
    return reply


async def _audit(
    session: AsyncSession,
    userid: str,
    command: Command,
    parsed: Parsed,
    result: str,
    now: datetime,
) -> None:
    args = "" if command.private else parsed.args  # the command audits what it did itself
    await audit.record(
        session,
        actor=userid,
        action=f"cmd:{command.name}",
        target=args,
        detail={"args": args[:500], "at": now.isoformat()},
        result=result,
    )


async def _remember_choice(
    cache: Cache, userid: str, parsed: Parsed, exc: lookup.AmbiguousCustomerError
) -> None:
    value = {
        "text": f"/{parsed.name} {parsed.args}",
        "ref": exc.ref,
        "options": [c.external_userid for c in exc.candidates],
    }
    await cache.set(choice_key(userid), json.dumps(value, ensure_ascii=False), CHOICE_TTL)


async def _pop_choice(cache: Cache, userid: str, number: int) -> tuple[str, str, str] | str:
    """(original command text, reference, chosen external_userid), or why there is none."""
    raw = await cache.get(choice_key(userid))
    if raw is None:
        return "没有等待选择的客户（选择 5 分钟内有效），请重新输入命令。"
    value = json.loads(raw)
    options = value["options"]
    if not 1 <= number <= len(options):
        return f"请回复 /1 到 /{len(options)} 之间的编号。"
    await cache.delete(choice_key(userid))
    return str(value["text"]), str(value["ref"]), str(options[number - 1])
