"""The sidebar's error edge: UserError -> JSON (API) or a page; anything else -> a reference."""

from __future__ import annotations

import logging
import secrets

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.core.errors import NotFoundError, UserError, WeComError
from knowledge.errors import EntryNotFoundError

logger = logging.getLogger(__name__)

API_PREFIX = "/sidebar/api/"
# The sandbox simulator's own API: its page shows the message, so errors must be JSON too.
SANDBOX_API_PREFIX = "/sidebar/sandbox/api/"
INTERNAL = "出错了，请稍后再试（编号 {ref}）"
WECOM_FAILED = "企业微信接口暂时不可用（错误码 {errcode}），请稍后再试"


# Pages a member opens in WeCom's webview answer in Chinese, not aiohttp's "404: Not Found".
PAGE_MESSAGES = {404: "找不到这个地址", 405: "不支持这种请求方式"}


def is_api(request: web.Request) -> bool:
    """Whether the request is for the JSON API (errors as JSON) rather than a page."""
    return request.path.startswith((API_PREFIX, SANDBOX_API_PREFIX))


def render(request: web.Request, status: int, code: str, message: str) -> web.Response:
    """The error as JSON for the API, or as the sidebar's Chinese page."""
    if is_api(request):
        return web.json_response({"error": code, "message": message}, status=status)
    return aiohttp_jinja2.render_template(
        "sidebar/error.html", request, {"code": code, "message": message}, status=status
    )


def _translate(exc: Exception) -> UserError | None:
    """Domain errors that are really the user's: shown as they are."""
    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, EntryNotFoundError):
        return NotFoundError("知识库里没有这个条目")
    return None


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn errors into a clear message; never show a stack trace or exception text."""
    try:
        return await handler(request)
    except ConnectionResetError:
        raise  # the client went away mid-response: nothing to tell anyone
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if not is_api(request) and exc.status not in PAGE_MESSAGES:
            raise
        message = PAGE_MESSAGES.get(exc.status, "请求无效")
        return render(request, exc.status, f"http_{exc.status}", message)
    except Exception as exc:
        user = _translate(exc)
        if user is not None:
            return render(request, user.status, user.code, user.message)
        ref = secrets.token_hex(4)
        if isinstance(exc, WeComError):
            logger.error(
                "sidebar wecom error ref=%s path=%s errcode=%s", ref, exc.path, exc.errcode
            )
            message = WECOM_FAILED.format(errcode=exc.errcode) + f"（编号 {ref}）"
            return render(request, 502, "wecom", message)
        logger.exception("sidebar error ref=%s %s %s", ref, request.method, request.path)
        return render(request, 500, "internal", INTERNAL.format(ref=ref))
