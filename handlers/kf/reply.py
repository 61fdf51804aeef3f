"""Answering a kf customer: auto-reply, menu clicks, media messages, human handover.

The session state is read before the message's transaction; everything the bot then says or
does (kf/send_msg, service_state/trans, the servicer's notice) is recorded as effects in that
transaction, in one group per conversation so they go out in order. kf/send_msg is allowed in
states 0/1 and for 5 messages after the customer's last one (wecom-reference §5.3): the count
is of the sends recorded since that message, in the database, across workers.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import WeComError
from bot.core.keys import CACHE, CLOCK, KB, SETTINGS, WECOM
from bot.domain import answers, customers, kf_queue, pipeline
from bot.domain.models import Message
from bot.domain.pipeline import PipelineResult
from bot.outbox import effects
from bot.outbox.model import Effect
from handlers.kf import notice
from knowledge import misses
from knowledge.model import Attachment, FaqEntry

logger = logging.getLogger(__name__)

SEND_LIMIT = 5  # messages per customer message (kf rule)
SEND_WINDOW = 48 * 3600  # kf/send_msg is allowed this long after the customer's last message
BOT_STATES = (0, 1)  # new, or handled by the bot/API
HUMAN = 3
MENU_QUESTIONS = 6
# A request for a person; "人工" alone only when nothing follows that makes it a topic
# ("人工智能", "人工香精", "人工色素" are questions about things, not about people).
HUMAN_REQUEST = re.compile(
    r"转人工|找人工|要人工|接人工|人工客服|人工服务|找客服|真人|客服在吗"
    r"|人工(?=$|[\s，,。.！!？?~～吧呢啊呀吗哈])"
)

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


def round_robin_key(open_kfid: str) -> str:
    """Cache counter picking the next servicer."""
    return f"kf:rr:{open_kfid}"


def _msgid(key: str) -> str:
    """kf/send_msg's msgid (<= 32 of [0-9a-zA-Z_-], unique per account) for an effect key."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Conversation:
    """One customer on one kf account, as one message's transaction sees it."""

    app: web.Application
    session: AsyncSession
    open_kfid: str
    external_userid: str
    account_name: str = ""  # the kf account's name, for notices

    @property
    def group(self) -> str:
        """The effects of one conversation go out in the order they were recorded."""
        return f"kf:{self.open_kfid}:{self.external_userid}"

    async def send(self, msgtype: str, body: dict[str, Any], *, key: str) -> bool:
        """Record a kf/send_msg within the 5-message window; False when over it."""
        if await self._sent_since_customer() >= SEND_LIMIT:
            logger.warning("kf send limit reached customer=%s", self.external_userid)
            return False
        payload = {"touser": self.external_userid, "open_kfid": self.open_kfid,
                   "msgtype": msgtype, "body": body, "msgid": _msgid(key)}  # fmt: skip
        await effects.add(self.session, "kf.send", payload, key=key, group=self.group)
        return True

    async def _sent_since_customer(self) -> int:
        last = await self.session.scalar(
            select(func.max(Message.created_at)).where(
                Message.external_userid == self.external_userid,
                Message.open_kfid == self.open_kfid,
                Message.source == "kf",
                Message.direction == "in",
            )
        )
        query = select(func.count()).where(
            Effect.group_key == self.group, Effect.kind == "kf.send"
        )
        if last is not None:
            query = query.where(Effect.created_at >= last)
        return int(await self.session.scalar(query) or 0)


async def read_state(app: web.Application, open_kfid: str, external_userid: str) -> int:
    """The session state (0-4), read before the transaction; 3 when the read fails, so the
    bot stays quiet rather than talk over a person."""
    try:
        data = await app[WECOM].kf_service_state_get(open_kfid, external_userid)
    except WeComError as exc:
        logger.error("kf state failed customer=%s errcode=%s", external_userid, exc.errcode)
        return HUMAN
    return int(data.get("service_state") or 0)


async def respond(
    conv: Conversation, result: PipelineResult, *, state: int, menu_id: str = ""
) -> str:
    """Decide and record what to do about one customer text; what it came to."""
    if state not in BOT_STATES:
        return "human"  # queued or with a human: the bot stays out of it
    if menu_id and await _menu_click(conv, result, menu_id):
        return "menu"
    if wants_human(result.text):
        await handover(conv, result, holding=HANDOVER_NOW, reason="客户要求人工")
        return "handover"
    best = result.best
    if result.decision == "auto" and best is not None:
        if await answer(conv, result, best.entry):
            return "answered"
        await handover(conv, result, holding="", reason="自动回复超出发送次数")
        return "handover"
    await handover(conv, result, holding=HOLDING, reason="机器人没有把握")
    await misses.record(
        conv.session, result.text, source="kf", best_entry_id=best.entry.id if best else None,
        best_confidence=best.confidence if best else None,
    )  # fmt: skip
    return "handover"


async def respond_media(conv: Conversation, result: PipelineResult, *, state: int,
                        msgtype: str) -> str:  # fmt: skip
    """An image, voice note, file...: the bot cannot read it, so a person takes over."""
    if state not in BOT_STATES:
        return "human"
    label = media_label(msgtype)
    await handover(
        conv, result, holding=MEDIA_HOLDING.format(label=label),
        reason=f"客户发来{label}，机器人无法识别",
    )  # fmt: skip
    return "handover"


async def answer(conv: Conversation, result: PipelineResult, entry: FaqEntry) -> bool:
    """Record an FAQ answer (and its attachment) and log it; False when over the limit."""
    text = entry.answer
    link = entry.attachment
    # A kf link card needs an uploaded thumbnail; without one the URL goes in the text.
    if link is not None and link.kind == "link" and link.url and not link.media_id:
        text = f"{text}\n{link.title or '详情'}：{link.url}"
    key = answers.answer_key(result.message_id)  # the sidebar reads its state
    if not await conv.send("text", {"content": text}, key=key):
        return False
    if link is not None and link.media_id:
        part = _attachment(link)
        if part is not None:
            await conv.send(*part, key=f"{key}:attachment")
    inbound = await conv.session.get(Message, result.message_id)
    if inbound is not None:
        inbound.auto_replied = True
    await pipeline.record_reply(
        conv.session, source="kf", external_userid=conv.external_userid,
        open_kfid=conv.open_kfid, text=text, matched_faq=entry.id, auto_replied=True,
    )  # fmt: skip
    logger.info("kf auto-reply customer=%s entry=%s", conv.external_userid, entry.id)
    return True


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


async def handover(
    conv: Conversation, result: PipelineResult, *, holding: str, reason: str
) -> None:
    """Holding reply, then service_state/trans (a servicer, else the queue) and the notice."""
    base = f"kf-handover:{result.message_id}"
    if holding:
        await conv.send("text", {"content": holding}, key=f"{base}:holding")
    servicer = await _pick_servicer(conv)
    settings = conv.app[SETTINGS]
    others = list(settings.kf_servicer_ids) or sorted(settings.supervisor_ids)
    who = await customers.customer_label(conv.session, conv.external_userid)
    texts = {
        which: notice.notice_text(
            result, customer=who, account=conv.account_name, reason=why, queued=queued
        )
        for which, why, queued in (
            ("servicer", reason, False),
            ("queue", reason, True),
            ("failed", f"{reason}；自动转接失败，请在微信客服中手动接待", True),
        )
    }
    notices = {
        "servicer": {"touser": [servicer] if servicer else [], "text": texts["servicer"]},
        "queue": {"touser": others, "text": texts["queue"]},
        "failed": {"touser": others, "text": texts["failed"]},
    }
    if not others and not servicer:
        logger.warning("kf handover customer=%s: nobody to notify", conv.external_userid)
    payload = {"open_kfid": conv.open_kfid, "external_userid": conv.external_userid,
               "servicer": servicer, "notice": notices}  # fmt: skip
    effect_id = await effects.add(
        conv.session, "kf.trans", payload, key=f"{base}:trans", group=conv.group
    )
    if effect_id is not None:  # the console's handover queue (a replay records nothing twice)
        await kf_queue.record_handover(
            conv.session, open_kfid=conv.open_kfid, external_userid=conv.external_userid,
            message_id=result.message_id, reason=reason, effect_id=effect_id,
            now=conv.app[CLOCK].now(),
        )  # fmt: skip
    logger.info("kf handover customer=%s servicer=%s", conv.external_userid, servicer or "-")


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
        return await conv.send("msgmenu", menu, key=f"kf-menu:{result.message_id}")
    if menu_id.startswith("faq:"):
        entry = kb.entry(menu_id[4:])
        return entry is not None and await answer(conv, result, entry)
    return False
