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

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.cache import Cache
from bot.core.db import utcnow
from bot.core.errors import PermissionDeniedError, UserError, WeComError
from bot.core.keys import CACHE, DB, SETTINGS, WECOM
from bot.domain import audit, lookup
from bot.domain import staff as staff_service
from bot.inbound.router import Reply
from handlers.commands.engine import ArgError, Command, CommandRouter, Context, Role

logger = logging.getLogger(__name__)

SLASHES = ("/", "／")
# WeCom refusals a member can understand (errcode -> reason); others show the errcode only.
WECOM_REASONS = {
    -1: "企业微信繁忙，请稍后再试",
    45009: "调用太频繁，请稍后再试",
    45033: "调用太频繁，请稍后再试",
    60011: "应用没有这项权限",
    81013: "员工不在应用的可见范围内",
    84061: "企业微信里该员工与客户已不是好友关系",
}
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


async def handle(app: web.Application, registry: CommandRouter, userid: str, text: str) -> Reply:
    """Answer one command text from a member."""
    parsed = parse(text)
    choices: dict[str, str] = {}
    if parsed.name.isdecimal():  # not isdigit(): "²" is a digit that int() refuses
        picked = await _pop_choice(app[CACHE], userid, int(parsed.name))
        if isinstance(picked, str):
            await _audit_bare(app, userid, "cmd:choice", parsed.name, "not_found")
            return Reply(picked)
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
        return await _unknown(app, registry, userid, parsed)
    return await _run(app, registry, command, userid, parsed, choices)


async def _audit_bare(
    app: web.Application, userid: str, action: str, target: str, result: str
) -> None:
    """Audit an attempt that never reached a command (unknown name, stale choice)."""
    async with app[DB].begin() as session:
        await audit.record(session, actor=userid, action=action, target=target, result=result)


async def _unknown(
    app: web.Application, registry: CommandRouter, userid: str, parsed: Parsed
) -> Reply:
    await _sync_caller(app, userid)
    async with app[DB].begin() as session:
        staff = await staff_service.get_staff(session, app[SETTINGS], userid)
        hints = registry.suggest(parsed.name, Role.of(staff.role))
    await _audit_bare(app, userid, "cmd:?", parsed.name, "unknown")
    text = f"没有命令 /{parsed.name}。"
    if hints:
        text += "你是不是想输入 " + " 或 ".join(f"/{h}" for h in hints) + "？"
    return Reply(text + "\n发送 /help 查看可用命令。")


async def _run(
    app: web.Application,
    registry: CommandRouter,
    command: Command,
    userid: str,
    parsed: Parsed,
    choices: dict[str, str],
) -> Reply:
    now = utcnow()
    result, reply = "ok", Reply("")
    try:
        await _sync_caller(app, userid, now)
        async with app[DB].begin() as session:
            staff = await staff_service.get_staff(session, app[SETTINGS], userid)
            role = Role.of(staff.role)
            if role < command.role:
                raise PermissionDeniedError(
                    f"/{command.name} 需要{command.role.label}权限，你目前是{role.label}。"
                )
            ctx = Context(
                user=staff, role=role, session=session, wecom=app[WECOM],
                settings=app[SETTINGS], app=app, cache=app[CACHE], now=now,
                registry=registry, choices=choices,
            )  # fmt: skip
            reply = await command.func(ctx, parsed.args)
            await _audit(session, userid, command, parsed, "ok", now)
        return reply
    except lookup.AmbiguousCustomerError as exc:
        await _remember_choice(app[CACHE], userid, parsed, exc)
        result, reply = "ambiguous", Reply(exc.message)
    except ArgError as exc:
        result, reply = "usage", Reply(f"{exc.message}\n{command.usage_text()}")
    except UserError as exc:
        result, reply = exc.code, Reply(exc.message)
    except WeComError as exc:  # a refusal, not a bug: say what WeCom said, change nothing
        logger.warning("command refused by wecom cmd=%s errcode=%s", command.name, exc.errcode)
        reason = WECOM_REASONS.get(exc.errcode, "企业微信拒绝了这次操作")
        result, reply = "wecom_error", Reply(f"{reason}（errcode {exc.errcode}），没有改动。")
    except Exception:  # noqa: BLE001 - a command bug must reach the user as a reference only
        ref = uuid.uuid4().hex[:8]
        logger.exception("command failed cmd=%s user=%s ref=%s", command.name, userid, ref)
        result, reply = "error", Reply(f"出错了，请稍后再试（编号 {ref}）")
    async with app[DB].begin() as session:
        await _audit(session, userid, command, parsed, result, now)
    return reply


async def _sync_caller(app: web.Application, userid: str, now: datetime | None = None) -> None:
    """Name and departments from WeCom when first seen or a day old (before any transaction)."""
    await staff_service.ensure_synced(app[DB], app[SETTINGS], app[WECOM], userid, now=now)


async def _audit(
    session: AsyncSession,
    userid: str,
    command: Command,
    parsed: Parsed,
    result: str,
    now: datetime,
) -> None:
    await audit.record(
        session,
        actor=userid,
        action=f"cmd:{command.name}",
        target=parsed.args,
        detail={"args": parsed.args[:500], "at": now.isoformat()},
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
