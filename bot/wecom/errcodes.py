"""WeCom refusals in words a member can act on (errcode -> reason); others show the errcode."""

from __future__ import annotations

from bot.wecom.client import RATE_LIMITED_ERRCODE
from bot.wecom.transport import NETWORK_ERRCODE

REASONS = {
    -1: "企业微信繁忙，请稍后再试",
    NETWORK_ERRCODE: "连不上企业微信",
    RATE_LIMITED_ERRCODE: "发给同一位员工的消息太多，超过每分钟 30 条",
    45009: "调用太频繁，请稍后再试",
    45033: "调用太频繁，请稍后再试",
    48002: "应用没有调用这个接口的权限",
    60011: "应用没有这项权限",
    60020: "服务器 IP 不在企业可信 IP 里",
    81013: "员工不在应用的可见范围内",
    84061: "企业微信里该员工与客户已不是好友关系",
}


def describe(errcode: int | None) -> str:
    """A short Chinese reason for a refusal, with the errcode."""
    if errcode is None:
        return "发送时出错"
    reason = REASONS.get(errcode, "企业微信拒绝了这次操作")
    return f"{reason}（errcode {errcode}）"
