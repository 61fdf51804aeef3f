"""A channel's QR image, read from the qr_code URL WeCom gave, as a data: URL for the page.

The console's CSP allows images only from itself or data: URLs (corporate networks often
block WeCom's CDN in the browser anyway), and a data: URL also downloads under our own file
name. The server reads it, outside any transaction, with a short timeout and a size cap.
"""

from __future__ import annotations

import base64
import logging

import aiohttp
from aiohttp import web

from bot.core.keys import HTTP

logger = logging.getLogger(__name__)

MAX_BYTES = 2 * 1024 * 1024
TIMEOUT = aiohttp.ClientTimeout(total=5)
TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


async def data_url(request: web.Request, url: str) -> str | None:
    """The image at `url` as a data: URL; None when it cannot be read (the page says so)."""
    if not url.startswith(("https://", "http://")):
        return None
    try:
        async with request.config_dict[HTTP].get(url, timeout=TIMEOUT) as resp:
            kind = resp.headers.get("Content-Type", "").split(";")[0].strip()
            body = await resp.content.read(MAX_BYTES + 1)
            if resp.status != 200 or kind not in TYPES or len(body) > MAX_BYTES:
                logger.warning("channel QR unreadable status=%s type=%s", resp.status, kind)
                return None
    except (aiohttp.ClientError, TimeoutError):
        logger.warning("channel QR unreachable", exc_info=True)
        return None
    return f"data:{kind};base64,{base64.b64encode(body).decode()}"
