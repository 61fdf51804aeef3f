"""/help: the commands the caller may use, or one command's usage and example."""

from __future__ import annotations

from bot.core.errors import NotFoundError
from handlers.commands.engine import CommandRouter, Context, Reply, Role

router = CommandRouter()


@router.command(
    "help",
    aliases=["帮助"],
    help="查看可用命令，或某个命令的用法",
    usage="/help [命令]",
    example="/help tag",
    role=Role.REP,
)
async def help_show(ctx: Context, args: str) -> Reply:
    """List the caller's commands, or detail one."""
    name = args.strip().lstrip("/／")
    if not name:
        return Reply(ctx.registry.render_help(ctx.role))
    command = ctx.registry.get(name)
    if command is None or command.hidden:
        hints = ctx.registry.suggest(name, ctx.role)
        tail = "，你是不是想查 " + " ".join(f"/{h}" for h in hints) if hints else ""
        raise NotFoundError(f"没有命令 /{name}{tail}")
    text = command.detail()
    if command.role > ctx.role:
        text += f"\n（你目前是{ctx.role.label}，不能使用这个命令）"
    return Reply(text)
