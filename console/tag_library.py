"""Page 6, the tag library: groups as dimensions, customer counts in the viewer's scope, and
changes kept in step with WeCom's corp tags.

Creating calls add_corp_tag first (WeCom gives the id) and records its answer; renames and
deletions change the mirror and record edit_corp_tag / del_corp_tag effects with it; "sync"
reads get_corp_tag_list and mirrors it. WeCom's own changes arrive as change_external_tag.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.core.errors import UsageError, WeComError
from bot.core.keys import DB, WECOM
from bot.domain import audit, tag_library, tags
from bot.domain.models import ROLE_ADMIN, ROLE_SUPERVISOR, Tag
from console import auth, forms, layout
from console.registry import Nav, route
from console.scope import scope_for

PAGE = "/console/tags"


@route("GET", "/tags", role=ROLE_SUPERVISOR, nav=Nav("标签库", 60))
async def tags_page(request: web.Request) -> web.StreamResponse:
    """Groups and tags with how many customers (of the viewer's departments) carry each."""
    viewer = auth.viewer_of(request)
    async with request.config_dict[DB]() as db:
        scope = await scope_for(db, viewer)
        groups = await tag_library.library(db, scope.reps)
    have = {g.name for g in groups}
    context = {"groups": groups, "missing": [d for d in tag_library.DIMENSIONS if d not in have],
               "dimensions": tag_library.DIMENSIONS, "can_edit": viewer.is_admin,
               "saved": request.query.get("saved", ""), "scoped": scope.reps is not None}
    return layout.render(request, "console/tags.html", context)


@route("POST", "/tags", role=ROLE_ADMIN, form={"group_name": "偏好", "name": "清爽型"})
async def create(request: web.Request) -> web.StreamResponse:
    """Add a tag (and its group, if new) in WeCom, then mirror what WeCom answered."""
    viewer = auth.viewer_of(request)
    form = await request.post()
    group_name = tag_library.check_name(forms.text(form, "group_name", 64), "标签组名")
    name = tag_library.check_name(forms.text(form, "name", 64))
    sm = request.config_dict[DB]
    async with sm() as db:
        group_id = await tag_library.check_new(db, group_name, name)
    wecom = request.config_dict[WECOM]
    try:
        answer = await wecom.add_corp_tag(group_name, [name], group_id)
    except WeComError as exc:
        if exc.errcode == tags.TAG_EXISTS_ERRCODE:
            # Made in WeCom but not mirrored here yet: mirror the library so it shows.
            library = await wecom.get_corp_tag_list()
            async with sm.begin() as db:
                await tags.sync_corp_tags(db, library)
            raise UsageError(f"企业微信里已有标签「{name}」，已同步标签库") from None
        raise forms.refused(exc, "创建标签") from None
    async with sm.begin() as db:
        created = await tag_library.record_created(db, answer)
        await audit.record(db, actor=viewer.userid, action="console:tag.create",
                           target=created[0].id if created else name,
                           detail={"group": group_name, "name": name})  # fmt: skip
    raise layout.see_other(PAGE, saved="created")


@route("POST", "/tags/sync", role=ROLE_ADMIN, form={"go": "1"})
async def pull(request: web.Request) -> web.StreamResponse:
    """Mirror WeCom's library now (get_corp_tag_list, read before the transaction)."""
    viewer = auth.viewer_of(request)
    try:
        library = await request.config_dict[WECOM].get_corp_tag_list()
    except WeComError as exc:
        raise forms.refused(exc, "返回标签库") from None
    async with request.config_dict[DB].begin() as db:
        live = await tags.sync_corp_tags(db, library)
        dropped = await tag_library.drop_deleted_from_customers(db)
        await audit.record(db, actor=viewer.userid, action="console:tag.sync",
                           detail={"live": live, "untagged": dropped})  # fmt: skip
    raise layout.see_other(PAGE, saved="synced")


@route("POST", "/tags/{tag_id}/rename", role=ROLE_ADMIN, sample={"tag_id": "etxss2"},
       form={"name": "线下门店"})  # fmt: skip
async def rename_tag(request: web.Request) -> web.StreamResponse:
    """Rename a tag here and, through the outbox, in WeCom."""
    viewer = auth.viewer_of(request)
    tag_id = request.match_info["tag_id"]
    name = forms.text(await request.post(), "name", 64)
    async with request.config_dict[DB].begin() as db:
        old, new = await tag_library.rename_tag(db, tag_id, name)
        await audit.record(db, actor=viewer.userid, action="console:tag.rename", target=tag_id,
                           detail={"before": old, "after": new})  # fmt: skip
    raise layout.see_other(PAGE, saved="renamed")


@route("POST", "/tags/{tag_id}/delete", role=ROLE_ADMIN, sample={"tag_id": "etxss2"},
       form={"confirm": "1"})  # fmt: skip
async def delete_tag(request: web.Request) -> web.StreamResponse:
    """Delete a tag (it comes off every customer) here and, through the outbox, in WeCom."""
    viewer = auth.viewer_of(request)
    tag_id = request.match_info["tag_id"]
    forms.require_confirm(await request.post())
    async with request.config_dict[DB].begin() as db:
        name, untagged = await tag_library.delete_tag(db, tag_id)
        await audit.record(db, actor=viewer.userid, action="console:tag.delete", target=tag_id,
                           detail={"name": name, "untagged": untagged})  # fmt: skip
    raise layout.see_other(PAGE, saved="deleted")


@route("POST", "/tags/groups/{group_id}/rename", role=ROLE_ADMIN, sample={"group_id": "egid"},
       form={"name": "身份"})  # fmt: skip
async def rename_group(request: web.Request) -> web.StreamResponse:
    """Rename a tag group here and, through the outbox, in WeCom."""
    viewer = auth.viewer_of(request)
    group_id = request.match_info["group_id"]
    name = forms.text(await request.post(), "name", 64)
    async with request.config_dict[DB].begin() as db:
        old, new = await tag_library.rename_group(db, group_id, name)
        await audit.record(db, actor=viewer.userid, action="console:tag_group.rename",
                           target=group_id, detail={"before": old, "after": new})  # fmt: skip
    raise layout.see_other(PAGE, saved="renamed")


@route("POST", "/tags/groups/{group_id}/delete", role=ROLE_ADMIN, sample={"group_id": "egid"},
       form={"confirm": "1"})  # fmt: skip
async def delete_group(request: web.Request) -> web.StreamResponse:
    """Delete a group with all its tags here and, through the outbox, in WeCom."""
    viewer = auth.viewer_of(request)
    group_id = request.match_info["group_id"]
    forms.require_confirm(await request.post())
    async with request.config_dict[DB].begin() as db:
        names = list(await db.scalars(select(Tag.name).where(
            Tag.group_id == group_id, Tag.deleted.is_(False))))  # fmt: skip
        group, untagged = await tag_library.delete_group(db, group_id)
        await audit.record(db, actor=viewer.userid, action="console:tag_group.delete",
                           target=group_id, detail={"name": group, "tags": names,
                                                    "untagged": untagged})  # fmt: skip
    raise layout.see_other(PAGE, saved="deleted")
