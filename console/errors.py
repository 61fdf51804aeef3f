"""The console's error edge: a clear Chinese page (or JSON for fetch), never a stack trace."""

from __future__ import annotations

import logging
import secrets

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.core.errors import UserError, WeComError

logger = logging.getLogger(__name__)

INTERNAL = "出错了，请稍后再试（编号 {ref}）"
WECOM_FAILED = "企业微信接口暂时不可用（错误码 {errcode}），请稍后再试（编号 {ref}）"
HTTP_MESSAGES = {
    400: "请求无效", 401: "登录已过期，请重新登录", 403: "没有权限", 404: "找不到这个页面",
    405: "不支持这种请求方式", 413: "提交的内容太大",
}  # fmt: skip
TITLES = {401: "需要登录", 403: "没有权限", 404: "找不到页面"}


def wants_json(request: web.Request) -> bool:
    """Whether the caller is our script (fetch asks for JSON) rather than a page load."""
    return "application/json" in request.headers.get("Accept", "")


def render(request: web.Request, status: int, code: str, message: str) -> web.Response:
    """The error as JSON for scripts, or as a Chinese page."""
    if wants_json(request):
        return web.json_response({"error": code, "message": message}, status=status)
    context = {"status": status, "title": TITLES.get(status, "出错了"), "message": message}
    return aiohttp_jinja2.render_template("console/error.html", request, context, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into a message the member can act on."""
    try:
        return await handler(request)
    except ConnectionResetError:
        raise
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = HTTP_MESSAGES.get(exc.status, "请求无效")
        return render(request, exc.status, f"http_{exc.status}", message)
    except UserError as exc:
        return render(request, exc.status, exc.code, exc.message)
    except WeComError as exc:
        ref = secrets.token_hex(4)
        logger.error("console wecom error ref=%s path=%s errcode=%s", ref, exc.path, exc.errcode)
        return render(request, 502, "wecom", WECOM_FAILED.format(errcode=exc.errcode, ref=ref))
    except Exception:
        ref = secrets.token_hex(4)
        logger.exception("console error ref=%s %s %s", ref, request.method, request.path)
        return render(request, 500, "internal", INTERNAL.format(ref=ref))
