"""The app message a servicer (or, for the queue, the supervisors) gets on a kf handover."""

from __future__ import annotations

from bot.domain.pipeline import PipelineResult

ANSWER_PREVIEW = 60
QUESTION_MAX = 300


def notice_text(
    result: PipelineResult, *, customer: str, account: str, reason: str, queued: bool
) -> str:
    """Question, top-3 suggestions with confidence, and rule hits, in one app message.

    customer: how staff know the customer ("林小姐"); account: the kf account's name.
    """
    question = result.text[:QUESTION_MAX]
    head = "【微信客服·排队中】" if queued else "【微信客服·已转给你】"
    lines = [head, f"客户：{customer}（{account or '微信客服'}）", f"原因：{reason}",
             f"问题：{question}"]  # fmt: skip
    if result.matches:
        lines.append("参考答案：")
        for n, match in enumerate(result.matches, start=1):
            answer = match.entry.answer
            if len(answer) > ANSWER_PREVIEW:
                answer = answer[:ANSWER_PREVIEW] + "…"
            lines.append(f"{n}. {match.entry.question}（{match.confidence:.0%}）：{answer}")
    for hit in result.rule_hits:
        note = f"：{hit.rule.caution}" if hit.rule.caution else ""
        lines.append(f"⚠ {hit.rule.name}（{hit.phrase}）{note}")
    return "\n".join(lines)
