"""The slash-command engine: registry, typed context, roles, argument helpers, help text.

One `CommandRouter` per handlers module; each command is one decorated async function
`(ctx: Context, args: str) -> Reply` that returns its answer and never sends.
`handlers.commands.dispatch` parses the text, checks the role, runs the command and audits it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process

from bot.core.errors import UsageError
from bot.domain import lookup
from bot.domain.models import ROLE_ADMIN, ROLE_SUPERVISOR, Customer, Staff
from bot.inbound.router import Reply

if TYPE_CHECKING:
    from aiohttp import web
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.core.cache import Cache
    from bot.core.settings import Settings
    from bot.wecom.client import WeComClient

__all__ = [
    "ArgError",
    "Command",
    "CommandRouter",
    "Context",
    "Prep",
    "Reply",
    "Role",
    "first",
    "take",
    "words",
]

# An unknown command gets the registered names at least this similar (rapidfuzz WRatio):
# "tga" -> tag scores 67, while unrelated short names ("stat" vs tag) score below 60.
SUGGEST_CUTOFF = 60
# Chinese aliases are two to four characters: one wrong character ("跟近" for 跟进) scores 50.
SUGGEST_CUTOFF_CJK = 50


class Role(IntEnum):
    """Who may run a command; higher roles may run everything lower roles may."""

    REP = 1
    SUPERVISOR = 2
    ADMIN = 3

    @classmethod
    def of(cls, name: str) -> Role:
        """The Role for a staff.role value (unknown values are treated as rep)."""
        return {ROLE_SUPERVISOR: cls.SUPERVISOR, ROLE_ADMIN: cls.ADMIN}.get(name, cls.REP)

    @property
    def label(self) -> str:
        """Chinese name of the role."""
        return {Role.REP: "客服", Role.SUPERVISOR: "主管", Role.ADMIN: "管理员"}[self]


class ArgError(UsageError):
    """The arguments do not fit the command; the dispatcher appends its usage and example."""


@dataclass(frozen=True)
class Prep:
    """What a command's prepare step may use: WeCom reads (and creating a missing corp tag)
    before the command's transaction opens, with its own short database sessions."""

    app: web.Application
    user: Staff
    role: Role
    wecom: WeComClient
    settings: Settings
    db: async_sessionmaker[AsyncSession]
    now: datetime


@dataclass
class Context:
    """Everything a command may use; built per command by the dispatcher.

    The session is the command's transaction, which also marks the callback handled; a command
    never calls WeCom (the client is not here): it records effects (bot.outbox.effects).
    """

    user: Staff
    role: Role
    session: AsyncSession
    settings: Settings
    app: web.Application
    cache: Cache
    now: datetime
    registry: CommandRouter
    # Answers to an earlier "which customer?" question: reference text -> external_userid.
    choices: Mapping[str, str] = field(default_factory=dict)
    # What the command's prepare step returned (None without one).
    prepared: Any = None
    # Run by the dispatcher after the command's transaction commits (e.g. swapping a KB change
    # into every worker's snapshot); each must not raise.
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def tz(self) -> ZoneInfo:
        """The corp's time zone."""
        return ZoneInfo(self.settings.timezone)

    async def customer(self, ref: str) -> Customer:
        """The caller's customer that `ref` names (ambiguity -> numbered choices)."""
        return await lookup.resolve(self.session, self.user, ref, self.choices)


CommandFunc = Callable[[Context, str], Awaitable[Reply]]
PrepareFunc = Callable[[Prep, str], Awaitable[Any]]


@dataclass(frozen=True)
class Command:
    """One registered command: its function, names, help and the least role it needs."""

    name: str
    func: CommandFunc
    help: str
    usage: str
    example: str
    role: Role
    aliases: tuple[str, ...] = ()
    hidden: bool = False
    prepare: PrepareFunc | None = None
    # Its arguments name a customer whose data may be erased: the audit log keeps them out.
    private: bool = False

    def usage_text(self) -> str:
        """Usage and example lines."""
        lines = [f"用法：{self.usage}"]
        if self.example:
            lines.append(f"例如：{self.example}")
        return "\n".join(lines)

    def summary(self) -> str:
        """One /help line: usage, the Chinese aliases, what it does."""
        aliases = "（" + " ".join(f"/{a}" for a in self.aliases) + "）" if self.aliases else ""
        return f"{self.usage}{aliases} — {self.help}"

    def detail(self) -> str:
        """What `/help name` shows."""
        head = f"/{self.name}"
        if self.aliases:
            head += "（也可用 " + " ".join(f"/{a}" for a in self.aliases) + "）"
        return f"{head}\n{self.help}\n{self.usage_text()}\n权限：{self.role.label}及以上"


class CommandRouter:
    """Commands of one feature module; `include` merges modules (duplicates fail)."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._names: dict[str, Command] = {}  # names and aliases, lower-case

    def command(
        self,
        name: str,
        *,
        help: str,  # noqa: A002 - the decorator's public keyword
        usage: str = "",
        example: str = "",
        role: Role = Role.REP,
        aliases: Sequence[str] = (),
        hidden: bool = False,
        prepare: PrepareFunc | None = None,
        private: bool = False,
    ) -> Callable[[CommandFunc], CommandFunc]:
        """Register the decorated function as /name (and its aliases).

        prepare runs before the command's transaction (WeCom reads); its result is
        ctx.prepared. private keeps the arguments out of the audit log.
        """

        def register(func: CommandFunc) -> CommandFunc:
            usage_line = usage or f"/{name}"
            self._add(
                Command(
                    name, func, help, usage_line, example, role, tuple(aliases), hidden, prepare,
                    private,
                )  # fmt: skip
            )
            return func

        return register

    def _add(self, command: Command) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", command.name):
            raise ValueError(f"command names are lower-case ASCII: {command.name!r}")
        for key in (command.name, *command.aliases):
            if key.lower() in self._names:
                raise ValueError(f"command name /{key} registered twice")
            self._names[key.lower()] = command
        self._commands[command.name] = command

    def include(self, *routers: CommandRouter) -> CommandRouter:
        """Merge other routers' commands into this one; returns self."""
        for router in routers:
            for command in router._commands.values():
                self._add(command)
        return self

    def get(self, name: str) -> Command | None:
        """The command called `name` or aliased so (case-insensitive)."""
        return self._names.get(name.lower())

    def split_glued(self, name: str) -> tuple[str, str] | None:
        """(alias, rest) when name is unknown but starts with a Chinese alias ("跟进张三")."""
        if name.lower() in self._names or name.isascii():
            return None
        for key in sorted(self._names, key=len, reverse=True):
            if not key.isascii() and name.startswith(key) and len(name) > len(key):
                return key, name[len(key) :]
        return None

    def available(self, role: Role) -> list[Command]:
        """Visible commands this role may run, in registration order."""
        return [c for c in self._commands.values() if c.role <= role and not c.hidden]

    def suggest(self, name: str, role: Role, limit: int = 3) -> list[str]:
        """Names of the runnable commands closest to an unknown name."""
        names = {key: c for key, c in self._names.items() if c.role <= role and not c.hidden}
        hits = process.extract(
            name.lower(),
            list(names),
            scorer=fuzz.WRatio,
            limit=limit * 2,
            score_cutoff=SUGGEST_CUTOFF if name.isascii() else SUGGEST_CUTOFF_CJK,
        )
        out: list[str] = []
        for key, _score, _ in hits:
            if names[key].name not in out:
                out.append(names[key].name)
        return out[:limit]

    def render_help(self, role: Role) -> str:
        """The /help listing for a role."""
        lines = [f"你可以使用的命令（{role.label}）："]
        commands = self.available(role)
        tiers = sorted({c.role for c in commands})
        for tier in tiers:
            if len(tiers) > 1:  # a supervisor sees the rep commands and their own, apart
                lines.append(f"【{tier.label}命令】")
            lines += [c.summary() for c in commands if c.role == tier]
        lines.append("发送 /help 命令名 查看用法和例子")
        return "\n".join(lines)


# Quoted words may contain spaces; Chinese quotes count too.
_TOKEN = re.compile(r'"([^"]*)"|“([^”]*)”|\'([^\']*)\'|(\S+)')


def take(args: str, count: int) -> tuple[list[str], str]:
    """The first `count` words (quotes group) and the untouched rest of the text."""
    out: list[str] = []
    pos = 0
    text = args.replace("\u3000", " ")
    while len(out) < count:
        found = _TOKEN.search(text, pos)
        if found is None:
            break
        out.append(next(g for g in found.groups() if g is not None))
        pos = found.end()
    return out, text[pos:].strip()


def words(args: str) -> list[str]:
    """Every word of the arguments (quotes group words with spaces)."""
    found, _ = take(args, 10_000)
    return found


def first(args: str) -> tuple[str, str]:
    """The first word (quotes group) and the rest; ("", "") for empty arguments."""
    found, rest = take(args, 1)
    return (found[0], rest) if found else ("", "")
