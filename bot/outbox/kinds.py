"""The one table of effect kinds: how each is sent, and what its errcodes mean.

A kind's payload is what the WeCom call needs (mostly its request body), so an admin reading a
parked effect sees exactly what would be sent. `send` makes one attempt with the client's own
retries off; the sender decides about retries from the errcode.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.clock import Clock
from bot.core.errors import WeComError
from bot.core.settings import Settings
from bot.wecom import errcodes
from bot.wecom import lifecycle as wecom_lifecycle
from bot.wecom.client import RATE_LIMITED_ERRCODE, WeComClient
from bot.wecom.transport import BUSY_ERRCODES, NETWORK_ERRCODE, TOKEN_ERRCODES

logger = logging.getLogger(__name__)

JSON = dict[str, Any]

# Worth another attempt later: busy, rate limits (WeCom's and ours), network, token trouble.
RETRYABLE = BUSY_ERRCODES | TOKEN_ERRCODES | {NETWORK_ERRCODE, RATE_LIMITED_ERRCODE}


@dataclass(frozen=True)
class FollowUp:
    """An effect caused by another's outcome, recorded in the same transaction as that outcome."""

    kind: str
    payload: JSON
    # Unique among the follow-ups of one effect; the sender makes it globally unique.
    key: str
    group: str = ""


@dataclass(frozen=True)
class Delivery:
    """What one successful attempt came to."""

    outcome: str = "sent"
    result: JSON = field(default_factory=dict)
    then: tuple[FollowUp, ...] = ()


@dataclass(frozen=True)
class SendContext:
    """What a kind may use to send."""

    wecom: WeComClient
    settings: Settings
    clock: Clock


Send = Callable[[SendContext, Mapping[str, Any]], Awaitable[Delivery]]


@dataclass(frozen=True)
class Kind:
    """One kind of effect: its send function and the errcodes that mean "already done"."""

    name: str
    send: Send
    # errcode -> outcome: WeCom refused because the thing is done or moot; no retry, no park.
    settled: Mapping[int, str] = field(default_factory=dict)
    # The guarantee documented in docs/outbox.md.
    guarantee: str = ""
    # Claimed before lower priorities (time-bound kinds: codes that expire in 20 s).
    priority: int = 0


def message_payload(
    touser: str | list[str], text: str, *, msgtype: str = "text", dedup: bool = True
) -> JSON:
    """The payload of an app message effect (text or markdown) to one or more members."""
    users = touser if isinstance(touser, str) else "|".join(touser)
    return {"touser": users, "msgtype": msgtype, "body": {"content": text}, "dedup": dedup}


async def _message(ctx: SendContext, p: Mapping[str, Any]) -> Delivery:
    data = await ctx.wecom.send_app(
        p["touser"], p["msgtype"], p["body"], dedup=bool(p.get("dedup")), retry=False
    )
    result = {k: data[k] for k in ("msgid", "invaliduser") if data.get(k)}
    return Delivery("partial" if data.get("invaliduser") else "sent", result)


async def _robot(ctx: SendContext, p: Mapping[str, Any]) -> Delivery:
    key = ctx.settings.robot_webhook_key
    if not key:
        return Delivery("skipped")  # the robot was unconfigured since the effect was recorded
    await ctx.wecom.webhook_send(key, p["body"], retry=False)
    return Delivery()


def _expired(ctx: SendContext, p: Mapping[str, Any]) -> bool:
    expires = p.get("expires_at")
    return expires is not None and ctx.clock.timestamp() > float(expires)


async def _welcome(ctx: SendContext, p: Mapping[str, Any]) -> Delivery:
    if _expired(ctx, p):
        return Delivery("expired")  # the code lives 20 s; past that WeCom can only refuse
    await ctx.wecom.send_welcome_msg(
        p["welcome_code"], p.get("text") or None, p.get("attachments") or (), retry=False
    )
    return Delivery()


async def _kf_send(ctx: SendContext, p: Mapping[str, Any]) -> Delivery:
    data = await ctx.wecom.kf_send_msg(
        p["touser"], p["open_kfid"], p["msgtype"], p["body"], msgid=p.get("msgid"), retry=False
    )
    return Delivery(result={"msgid": data.get("msgid", "")})


async def _kf_event_send(ctx: SendContext, p: Mapping[str, Any]) -> Delivery:
    if _expired(ctx, p):
        return Delivery("expired")
    await ctx.wecom.kf_send_msg_on_event(p["code"], p["msgtype"], p["body"], retry=False)
    return Delivery()


# kf session states (wecom-reference §5.5): 2 queue, 3 a servicer.
KF_QUEUE, KF_HUMAN = 2, 3
# kf/send_msg outside states 0/1: a person has the conversation now.
KF_BAD_STATE = 95018


async def _kf_trans(ctx: SendContext, p: Mapping[str, Any]) -> Delivery:
    """To the chosen servicer (3), else to the queue (2); then the matching notice.

    Nothing to do when the conversation already waits in the queue or has a person (someone
    took it since the bot decided).
    """
    kfid, euid, servicer = p["open_kfid"], p["external_userid"], p.get("servicer") or ""
    current = await ctx.wecom.kf_service_state_get(kfid, euid)
    if int(current.get("service_state") or 0) in (KF_QUEUE, KF_HUMAN):
        return Delivery("already", {"state": int(current["service_state"])})
    refused: list[int] = []
    state: int | None = None
    for target, who in ((KF_HUMAN, servicer), (KF_QUEUE, "")):
        if target == KF_HUMAN and not servicer:
            continue
        try:
            await ctx.wecom.kf_service_state_trans(kfid, euid, target, who or None, retry=False)
        except WeComError as exc:
            if exc.errcode in RETRYABLE:
                raise
            refused.append(exc.errcode)  # e.g. the servicer is off duty: the queue next
            continue
        state = target
        break
    notice = p.get("notice") or {}
    which = {KF_HUMAN: "servicer", KF_QUEUE: "queue"}.get(state or 0, "failed")
    then: tuple[FollowUp, ...] = ()
    chosen = notice.get(which)
    if chosen and chosen.get("touser"):
        message = message_payload(chosen["touser"], chosen["text"])
        then = (FollowUp("message", message, key="notice"),)
    outcome = {KF_HUMAN: "servicer", KF_QUEUE: "queued"}.get(state or 0, "failed")
    return Delivery(outcome, {"state": state, "refused": refused}, then)


async def _mark_tag(ctx: SendContext, p: Mapping[str, Any]) -> Delivery:
    # The payload may also carry "notify" and "what": who hears of a refusal (the sender).
    await ctx.wecom.mark_tag(
        p["userid"], p["external_userid"], p.get("add_tag") or (), p.get("remove_tag") or (),
        retry=False,
    )  # fmt: skip
    return Delivery()


async def _remark(ctx: SendContext, p: Mapping[str, Any]) -> Delivery:
    await ctx.wecom.remark(p["userid"], p["external_userid"], p["remark"], retry=False)
    return Delivery()


def _transfer_followups(p: Mapping[str, Any], data: JSON) -> tuple[JSON, tuple[FollowUp, ...]]:
    """Per-customer errcodes, and the requester's notice when any customer failed."""
    codes = {str(c.get("external_userid")): int(c.get("errcode") or 0)
             for c in data.get("customer") or []}  # fmt: skip
    asked = list(p["external_userid"])
    failed = {euid: codes.get(euid, 0) for euid in asked if codes.get(euid, 0)}
    result = {"started": [e for e in asked if e not in failed], "failed": failed}
    notify = p.get("notify") or ""
    if not notify:
        return result, ()
    names: Mapping[str, str] = p.get("names") or {}
    takeover = p.get("takeover_label") or p["takeover_userid"]
    lines = [f"【转接结果】→ {takeover}：已发起 {len(result['started'])} 位"]
    for euid, code in list(failed.items())[:20]:
        lines.append(f"· {names.get(euid, euid)}：{reason_for(p, code)}")
    if result["started"]:
        lines.append("客户 24 小时内未拒绝即自动接替。")
    text = "\n".join(lines)
    return result, (FollowUp("message", message_payload(notify, text), key="notice"),)


async def _transfer(ctx: SendContext, p: Mapping[str, Any]) -> Delivery:
    data = await ctx.wecom.transfer_customer(
        p["handover_userid"], p["takeover_userid"], p["external_userid"], p.get("msg") or None,
        retry=False,
    )  # fmt: skip
    result, then = _transfer_followups(p, data)
    return Delivery("sent" if result["started"] else "refused", result, then)


async def _resigned_transfer(ctx: SendContext, p: Mapping[str, Any]) -> Delivery:
    data = await ctx.wecom.resigned_transfer_customer(
        p["handover_userid"], p["takeover_userid"], p["external_userid"], retry=False
    )
    result, then = _transfer_followups(p, data)
    return Delivery("sent" if result["started"] else "refused", result, then)


_TAKEN = {41051: "taken", 41096: "taken"}

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("message", _message,
             guarantee="at least once; a resend within 4 h is dropped by WeCom's duplicate "
                       "check when the payload asks for it (alerts, notices, reminders)"),
        Kind("robot", _robot, guarantee="at least once (a crash mid-send may repeat it)"),
        Kind("welcome", _welcome, settled=_TAKEN, priority=10,
             guarantee="at most once per WelcomeCode (WeCom spends the code); within 20 s"),
        Kind("kf.send", _kf_send, settled={KF_BAD_STATE: "human", 95001: "limited"}, priority=5,
             guarantee="at least once; the msgid is unique per kf account, so a resend is "
                       "recognised by WeCom (unverified: its answer to a reused msgid)"),
        Kind("kf.event_send", _kf_event_send, settled={KF_BAD_STATE: "human"}, priority=10,
             guarantee="at most once per event code (WeCom spends it); within 20 s"),
        Kind("kf.trans", _kf_trans, priority=5,
             guarantee="at least once; moving to the same state again is harmless"),
        Kind("mark_tag", _mark_tag, guarantee="at least once; idempotent at WeCom"),
        Kind("remark", _remark, guarantee="at least once; idempotent at WeCom"),
        Kind("transfer", _transfer, guarantee="at least once; WeCom refuses a customer already "
                                               "in transfer (40100), so no double move"),
        Kind("resigned_transfer", _resigned_transfer, guarantee="as transfer"),
    )  # fmt: skip
}


def reason_for(payload: Mapping[str, Any], errcode: int | None) -> str:
    """Why WeCom refused, in the payload's own words ("reasons") when it has them."""
    reasons: Mapping[str, str] = payload.get("reasons") or {}
    if errcode is not None and str(errcode) in reasons:
        return reasons[str(errcode)]
    if errcode is not None and "default" in reasons:
        return f"errcode {errcode}；{reasons['default']}"
    return errcodes.describe(errcode)


def verdict(kind: Kind, errcode: int) -> str:
    """What a refusal means: "settled" (done), "retry" (later), or "park" (needs a person)."""
    if errcode in kind.settled:
        return "settled"
    if errcode in RETRYABLE:
        return "retry"
    return "park"


# ----------------------------------------------------------------- issue 13: customer lifecycle


async def _mass_msg(ctx: SendContext, p: Mapping[str, Any]) -> Delivery:
    data = await wecom_lifecycle.add_msg_template(
        ctx.wecom, p["sender"], p["external_userid"], p.get("text") or "",
        p.get("attachments") or (), retry=False,
    )  # fmt: skip
    fails = list(data.get("fail_list") or [])
    return Delivery("refused" if fails else "sent", {"msgid": data.get("msgid", ""),
                                                     "fail_list": fails})  # fmt: skip


KINDS["mass_msg"] = Kind(
    "mass_msg", _mass_msg,
    guarantee="at least once; a resend after a crash mid-call would put a second copy in the "
              "rep's 群发助手, which the rep confirms (so a customer never gets it unseen)",
)  # fmt: skip
