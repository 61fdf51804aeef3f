"""Answering a kf customer: auto-reply, menu clicks, media messages, human handover.

kf/send_msg is allowed only in session states 0/1 and for 5 messages after the customer's
last one (wecom-reference §5.3); we count our sends and stop at the limit, treat 95018 (wrong
state) as "a human has it", and never retry a failed send in a loop.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.core.errors import WeComError
from bot.core.keys import CACHE, DB, KB, SETTINGS, WECOM
from bot.domain.models import Message
from bot.domain.pipeline import PipelineResult
from handlers.kf import notice as kf_notice
from knowledge import misses
from knowledge.model import Attachment, FaqEntry

logger = logging.getLogger(__name__)

SEND_LIMIT = 5  # messages per customer message (kf rule)
SEND_WINDOW = 48 * 3600  # kf/send_msg is allowed this long after the customer's last message
BAD_STATE = 95018  # the session is not in a state that allows kf/send_msg
BOT_STATES = (0, 1)  # new, or handled by the bot/API
QUEUE, HUMAN = 2, 3
MENU_QUESTIONS = 6
# A request for a person; "人工" alone only when nothing follows that makes it a topic
# ("人工智能", "人工香精", "人工色素" are questions about things, not about people).
HUMAN_REQUEST = re.compile(
    r"转人工|找人工|要人工|接人工|人工客服|人工服务|找客服|真人|客服在吗"
    r"|人工(?=$|[\s，,。.！!？?~～吧呢啊呀吗哈])"
)

# What a send came to (Conversation.send).
SENT, LIMITED, HUMAN_HAS_IT, FAILED = "sent", "limited", "human", "failed"

HOLDING = "您的问题已收到，正在为您转接人工客服，请稍候～"
HANDOVER_NOW = "好的，正在为您转接人工客服，请稍候～"
MEDIA_HOLDING = "收到您发来的{label}～正在为您转接人工客服，请稍候。"
# kf msgtypes a customer can send besides text, in the words the holding reply uses.
MEDIA_LABELS = {
    "image": "图片", "voice": "语音", "video": "视频", "file": "文件", "location": "位置",
    "link": "链接", "business_card": "名片", "miniprogram": "小程序",
    "channels_shop_product": "商品", "channels_shop_order": "订单",
}  # fmt: skip


def wants_human(text: str) -> bool:
    """The customer asks for a person."""
    return HUMAN_REQUEST.search(text) is not None


def media_label(msgtype: str) -> str:
    """A non-text kf message type in Chinese ("消息" when unknown)."""
    return MEDIA_LABELS.get(msgtype, "消息")


def sends_key(open_kfid: str, external_userid: str) -> str:
    """Cache counter of our sends since the customer's last message."""
    return f"kf:sends:{open_kfid}:{external_userid}"


def round_robin_key(open_kfid: str) -> str:
    """Cache counter picking the next servicer."""
    return f"kf:rr:{open_kfid}"


@dataclass(frozen=True)
class Conversation:
    """One customer on one kf account."""

    app: web.Application
    open_kfid: str
    external_userid: str

    async def customer_wrote(self) -> None:
        """The customer's message re-opens the 5-message window."""
        await self.app[CACHE].delete(sends_key(self.open_kfid, self.external_userid))

    async def state(self) -> int:
        """The session state (0-4); 3 when the call fails, so the bot stays quiet."""
        try:
            data = await self.app[WECOM].kf_service_state_get(self.open_kfid, self.external_userid)
        except WeComError as exc:
            logger.error(
                "kf state failed customer=%s errcode=%s", self.external_userid, exc.errcode
            )
            return HUMAN
        return int(data.get("service_state") or 0)

    async def send(self, msgtype: str, content: dict[str, Any]) -> str:
        """kf/send_msg within the limits, tried once; SENT or why not (logged)."""
        count = await self.app[CACHE].incr(
            sends_key(self.open_kfid, self.external_userid), SEND_WINDOW
        )
        if count > SEND_LIMIT:
            logger.warning("kf send limit reached customer=%s", self.external_userid)
            return LIMITED
        try:
            await self.app[WECOM].kf_send_msg(
                self.external_userid, self.open_kfid, msgtype, content
            )
        except WeComError as exc:
            if exc.errcode == BAD_STATE:
                logger.info("kf send refused: a person has customer=%s", self.external_userid)
                return HUMAN_HAS_IT
            logger.error("kf send failed customer=%s errcode=%s", self.external_userid,
                         exc.errcode)  # fmt: skip
            return FAILED
        return SENT


async def respond(conv: Conversation, result: PipelineResult, *, menu_id: str = "") -> None:
    """Decide and act on one customer text that the pipeline has stored."""
    if await conv.state() not in BOT_STATES:
        return  # queued or with a human: the bot stays out of it
    if menu_id and await _menu_click(conv, result, menu_id):
        return
    if wants_human(result.text):
        await handover(conv, result, holding=HANDOVER_NOW, reason="客户要求人工")
        return
    best = result.best
    if result.decision == "auto" and best is not None:
        if await answer(conv, result, best.entry) in (SENT, HUMAN_HAS_IT):
            return
        await handover(conv, result, holding="", reason="自动回复未送达")
        return
    await handover(conv, result, holding=HOLDING, reason="机器人没有把握")
    async with conv.app[DB].begin() as session:
        await misses.record(
            session, result.text, source="kf", best_entry_id=best.entry.id if best else None,
            best_confidence=best.confidence if best else None,
        )  # fmt: skip


async def respond_media(conv: Conversation, result: PipelineResult, msgtype: str) -> None:
    """An image, voice note, file...: the bot cannot read it, so a person takes over."""
    if await conv.state() not in BOT_STATES:
        return
    label = media_label(msgtype)
    await handover(
        conv, result, holding=MEDIA_HOLDING.format(label=label),
        reason=f"客户发来{label}，机器人无法识别",
    )  # fmt: skip


async def answer(conv: Conversation, result: PipelineResult, entry: FaqEntry) -> str:
    """Send an FAQ answer (and its attachment) and log it; the text's send outcome."""
    text = entry.answer
    link = entry.attachment
    # A kf link card needs an uploaded thumbnail; without one the URL goes in the text.
    if link is not None and link.kind == "link" and link.url and not link.media_id:
        text = f"{text}\n{link.title or '详情'}：{link.url}"
    outcome = await conv.send("text", {"content": text})
    if outcome != SENT:
        return outcome
    if link is not None and link.media_id:
        part = _attachment(link)
        if part is not None:
            await conv.send(*part)
    await _log_reply(conv, result.message_id, text, entry.id)
    return SENT


def _attachment(att: Attachment) -> tuple[str, dict[str, Any]] | None:
    """An uploaded-media attachment as a kf message (kf needs media ids, not URLs)."""
    if att.kind == "link" and att.url:
        link = {"title": att.title, "desc": att.desc, "url": att.url,
                "thumb_media_id": att.media_id}  # fmt: skip
        return "link", link
    if att.kind == "image":
        return "image", {"media_id": att.media_id}
    if att.kind == "miniprogram" and att.appid:
        mini = {"appid": att.appid, "title": att.title, "pagepath": att.page,
                "thumb_media_id": att.media_id}  # fmt: skip
        return "miniprogram", mini
    return None


async def _log_reply(conv: Conversation, reply_to: int, text: str, entry_id: str) -> None:
    async with conv.app[DB].begin() as session:
        inbound = await session.get(Message, reply_to)
        if inbound is not None:
            inbound.auto_replied = True
        session.add(
            Message(
                source="kf",
                direction="out",
                external_userid=conv.external_userid,
                open_kfid=conv.open_kfid,
                text=text,
                matched_faq=entry_id,
                auto_replied=True,
            )  # fmt: skip
        )
    logger.info("kf auto-reply customer=%s entry=%s", conv.external_userid, entry_id)


async def handover(
    conv: Conversation, result: PipelineResult, *, holding: str, reason: str
) -> None:
    """Holding reply, then service_state/trans to a servicer (3) or the queue (2); notify."""
    if holding and await conv.send("text", {"content": holding}) == HUMAN_HAS_IT:
        return  # the session moved to a person since we looked: nothing to hand over
    servicer = await _pick_servicer(conv)
    state = await _transfer(conv, servicer)
    if state is None:
        # The customer was told a person is coming: someone must hear of it regardless.
        reason = f"{reason}；自动转接失败，请在微信客服中手动接待"
    logger.info("kf handover customer=%s state=%s", conv.external_userid, state)
    await kf_notice.tell(conv.app, result, servicer=servicer if state == HUMAN else "",
                         open_kfid=conv.open_kfid, reason=reason)  # fmt: skip


async def _transfer(conv: Conversation, servicer: str) -> int | None:
    """service_state/trans to 3 with the servicer, else (or on refusal) 2; None if both fail."""
    wecom, kfid, euid = conv.app[WECOM], conv.open_kfid, conv.external_userid
    if servicer:
        try:
            await wecom.kf_service_state_trans(kfid, euid, HUMAN, servicer)
        except WeComError as exc:  # the servicer may be off duty: the queue is the fallback
            logger.warning("kf trans to %s failed customer=%s errcode=%s", servicer, euid,
                           exc.errcode)  # fmt: skip
        else:
            return HUMAN
    try:
        await wecom.kf_service_state_trans(kfid, euid, QUEUE)
    except WeComError as exc:
        logger.error("kf queue failed customer=%s errcode=%s", euid, exc.errcode)
        return None
    return QUEUE


async def _pick_servicer(conv: Conversation) -> str:
    servicers = conv.app[SETTINGS].kf_servicer_ids
    if not servicers:
        return ""
    turn = await conv.app[CACHE].incr(round_robin_key(conv.open_kfid), 24 * 3600)
    return servicers[(turn - 1) % len(servicers)]


async def _menu_click(conv: Conversation, result: PipelineResult, menu_id: str) -> bool:
    """A click on our menu: a category lists its questions; a question gets its answer."""
    kb = conv.app[KB].snapshot.kb
    if menu_id.startswith("cat:"):
        category = menu_id[4:]
        entries = [e for e in kb.entries if e.enabled and e.category == category]
        if not entries:
            return False
        items = [
            {"type": "click", "click": {"id": f"faq:{e.id}"[:64], "content": e.question}}
            for e in entries[:MENU_QUESTIONS]
        ]
        menu = {"head_content": f"「{category}」常见问题：", "list": items}
        return await conv.send("msgmenu", menu) == SENT
    if menu_id.startswith("faq:"):
        entry = kb.entry(menu_id[4:])
        return entry is not None and await answer(conv, result, entry) == SENT
    return False
