"""GET (URL verification) and POST (encrypted messages and events) at /wecom/callback."""

from __future__ import annotations

import logging
import secrets
import time

from aiohttp import web

from bot.core.keys import CRYPTO, SETTINGS
from bot.inbound import dispatch
from bot.wecom.crypto import CryptoError, EnvelopeError, parse_envelope, parse_plain
from bot.wecom.events import Event

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # WeCom callbacks are a few KB; anything near this is hostile.

routes = web.RouteTableDef()


def _query(request: web.Request) -> tuple[str, str, str]:
    q = request.query
    return q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")


@routes.get("/wecom/callback")
async def verify_url(request: web.Request) -> web.Response:
    """Answer WeCom's URL check with the decrypted echostr, as bare text."""
    crypto = request.app[CRYPTO]
    signature, timestamp, nonce = _query(request)
    # yarl decodes a raw "+" in a query string to a space; echostr is base64, so undo that.
    echostr = request.query.get("echostr", "").replace(" ", "+")
    if not (signature and echostr) or not crypto.verify(signature, timestamp, nonce, echostr):
        logger.warning("callback URL check: bad signature from %s", request.remote)
        return web.Response(status=403)
    try:
        plain = crypto.decrypt(echostr)
    except CryptoError as exc:
        logger.warning("callback URL check: undecryptable echostr (%s)", exc)
        raise web.HTTPBadRequest() from exc
    return web.Response(body=plain, content_type="text/plain")


@routes.post("/wecom/callback")
async def receive(request: web.Request) -> web.Response:
    """Verify, decrypt, store and handle one callback; always 200 once it is authentic."""
    started = time.perf_counter()
    app = request.app
    crypto = app[CRYPTO]
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    body = await request.read()  # aiohttp enforces client_max_size for chunked bodies too
    try:
        envelope = parse_envelope(body)
    except EnvelopeError as exc:
        logger.warning("callback: rejected envelope from %s (%s)", request.remote, exc)
        raise web.HTTPBadRequest() from exc
    signature, timestamp, nonce = _query(request)
    encrypt = envelope.get("Encrypt", "")
    if not (signature and encrypt) or not crypto.verify(signature, timestamp, nonce, encrypt):
        logger.warning("callback: bad signature from %s", request.remote)
        return web.Response(status=403)
    try:
        plain = crypto.decrypt(encrypt)
        fields = parse_plain(plain)
    except (CryptoError, EnvelopeError) as exc:
        logger.warning("callback: authentic but unreadable message (%s)", type(exc).__name__)
        raise web.HTTPBadRequest() from exc
    event = Event(fields=fields, xml=plain.decode("utf-8"))
    reply = await dispatch.accept(app, event, received=started)
    elapsed = (time.perf_counter() - started) * 1000
    logger.info("callback kind=%s reply=%s ms=%.1f", event.kind, reply is not None, elapsed)
    if reply is None:
        return web.Response(status=200, body=b"")
    return web.Response(
        body=_passive_reply(app, event, reply.text), content_type="application/xml"
    )


def _passive_reply(app: web.Application, event: Event, text: str) -> bytes:
    """The encrypted §1.6 envelope around a text reply to the member who wrote.

    Built here rather than with wechatpy's TextReply, which does not escape "]]>" in CDATA.
    """
    settings = app[SETTINGS]
    now = str(int(time.time()))
    plain = (
        "<xml>"
        f"<ToUserName>{_cdata(event.from_user)}</ToUserName>"
        f"<FromUserName>{_cdata(settings.corp_id)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(text)}</Content>"
        "</xml>"
    ).encode()
    return app[CRYPTO].build_reply(plain, now, secrets.token_hex(8))


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA; split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
