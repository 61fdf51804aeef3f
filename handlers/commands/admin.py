"""Admin commands: /role (roles and departments), /tagnew, /tagsync, /parked /retry /discard."""

from __future__ import annotations

import re

from bot.core.errors import NotFoundError
from bot.domain import directory, tags
from bot.domain import staff as staff_service
from bot.outbox import effects, kinds
from bot.wecom.client import JSON
from handlers.commands.engine import ArgError, CommandRouter, Context, Prep, Reply, Role, words

router = CommandRouter()

_GROUP_PREFIXES = ("组=", "group=", "分组=")
LIST_MAX = 10


async def _know_member(prep: Prep, args: str) -> None:
    """Before the transaction: a member who never wrote to the app is looked up in WeCom."""
    parts = words(args)
    if not parts:
        return
    try:
        await directory.know_member(prep.db, prep.settings, prep.wecom, parts[0], now=prep.now)
    except NotFoundError:
        if len(parts) == 1:
            raise
        # Setting a role: a userid WeCom will not show this app (outside its visible range)
        # may still be given one, with departments by hand.


async def _departments(ctx: Context, ids: list[int]) -> str:
    names = await directory.department_names(ctx.session, ids)
    return directory.department_label(names, ids)


@router.command(
    "role", aliases=["角色"], help="查看或设置员工角色（客服/主管/管理员）和部门",
    usage="/role 员工 [角色] [部门ID…]", example="/role lisi 主管 1 2", role=Role.ADMIN,
    prepare=_know_member,
)  # fmt: skip
async def role_set(ctx: Context, args: str) -> Reply:
    """Show or change a member's role and departments."""
    parts = words(args)
    if not parts:
        raise ArgError("请写员工姓名或 userid")
    if len(parts) == 1:
        member = await staff_service.find_staff(ctx.session, parts[0])
        label = staff_service.ROLE_LABEL.get(member.role, member.role)
        who = staff_service.label_of(member, member.userid)
        state = "" if member.active else "（已停用或已离职）"
        return Reply(f"{who}{state}：{label}，部门 {await _departments(ctx, member.departments)}")
    role = staff_service.ROLE_NAMES.get(parts[1].lower())
    if role is None:
        raise ArgError(f"未知角色「{parts[1]}」，可选：客服 / 主管 / 管理员")
    if not all(p.isdecimal() and len(p) <= 10 for p in parts[2:]):
        raise ArgError("部门写数字 ID，用空格分开")
    departments = [int(p) for p in parts[2:]] or None
    try:
        userid = (await staff_service.find_staff(ctx.session, parts[0])).userid
    except NotFoundError:
        if not directory.USERID.fullmatch(parts[0]):
            raise
        userid = parts[0]  # not visible to the app: set by hand
    member = await staff_service.set_role(
        ctx.session, userid=userid, role=role, departments=departments
    )
    label = staff_service.ROLE_LABEL[role]
    who = staff_service.label_of(member, member.userid)
    return Reply(f"已把 {who} 设为{label}，部门 {await _departments(ctx, member.departments)}")


def _tag_args(args: str) -> tuple[str, list[str]]:
    """(group, names) of /tagnew's arguments."""
    group, names = tags.DEFAULT_GROUP, []
    for word in words(args):
        prefix = next((p for p in _GROUP_PREFIXES if word.startswith(p)), None)
        if prefix:
            group = word[len(prefix) :] or group
        else:
            names.append(word)
    if not names:
        raise ArgError("请写至少一个标签名")
    return group, names


async def _create_tags(prep: Prep, args: str) -> tuple[list[str], list[str]]:
    """Before the transaction: create the missing tags in WeCom; (new names, existing names)."""
    group, names = _tag_args(args)
    async with prep.db() as session:
        before = set(await tags.all_tag_names(session))
    created = await tags.ensure_tags(prep.db, prep.wecom, names, group_name=group)
    new = [t.name for t in created if t.name not in before]
    return new, [n for n in names if n in before]


@router.command(
    "tagnew", aliases=["新标签"], help="在企业标签库里新建标签（主管和管理员）",
    usage="/tagnew 标签… [组=分组名]", example="/tagnew 高意向 待回访 组=客户意向",
    role=Role.SUPERVISOR, prepare=_create_tags,
)  # fmt: skip
async def tag_create(ctx: Context, args: str) -> Reply:
    """Create corp tags (in WeCom, then locally; done by the prepare step)."""
    group, _names = _tag_args(args)
    new, existing = ctx.prepared
    text = f"已在「{group}」新建：{'、'.join(new)}" if new else "没有新建标签"
    if existing:
        text += f"\n已存在：{'、'.join(existing)}"
    return Reply(text)


async def _read_library(prep: Prep, args: str) -> JSON:
    """Before the transaction: WeCom's whole tag library."""
    return await prep.wecom.get_corp_tag_list()


@router.command(
    "tagsync", aliases=["同步标签"], help="从企业微信同步整个标签库",
    usage="/tagsync", role=Role.ADMIN, prepare=_read_library,
)  # fmt: skip
async def tag_sync(ctx: Context, args: str) -> Reply:
    """Mirror WeCom's tag library now."""
    count = await tags.sync_corp_tags(ctx.session, ctx.prepared)
    return Reply(f"已同步，标签库共 {count} 个标签。")


@router.command(
    "parked", aliases=["待处理"], help="查看企业微信拒绝或多次失败、已搁置的操作",
    usage="/parked", role=Role.ADMIN,
)  # fmt: skip
async def effects_parked(ctx: Context, args: str) -> Reply:
    """List parked outbox effects (what failed, errcode, when)."""
    rows = await effects.parked(ctx.session, limit=LIST_MAX)
    if not rows:
        return Reply("没有搁置的操作。")
    lines = [f"搁置的操作 {len(rows)} 条："]
    for effect in rows:
        what = effect.payload.get("what") or effect.kind
        why = kinds.reason_for(effect.payload, effect.last_errcode)
        lines.append(f"#{effect.id} {what} · {why}")
    lines.append("重试：/retry 编号；放弃：/discard 编号")
    return Reply("\n".join(lines))


def _effect_id(args: str) -> int:
    found = re.fullmatch(r"#?(\d{1,9})", args.strip())
    if found is None:
        raise ArgError("请写操作编号（/parked 里 # 后面的数字）")
    return int(found.group(1))


@router.command(
    "retry", aliases=["重试"], help="重试一条搁置的操作", usage="/retry 编号",
    example="/retry 12", role=Role.ADMIN,
)  # fmt: skip
async def effect_retry(ctx: Context, args: str) -> Reply:
    """Give a parked effect another round of attempts."""
    effect = await effects.retry(ctx.session, _effect_id(args))
    return Reply(f"操作 #{effect.id} 将重新发送。")


@router.command(
    "discard", aliases=["放弃"], help="放弃一条搁置的操作（保留记录）", usage="/discard 编号",
    example="/discard 12", role=Role.ADMIN,
)  # fmt: skip
async def effect_discard(ctx: Context, args: str) -> Reply:
    """Give up a parked effect for good."""
    effect = await effects.discard(ctx.session, _effect_id(args))
    return Reply(f"操作 #{effect.id} 已放弃，不会再发送。")
