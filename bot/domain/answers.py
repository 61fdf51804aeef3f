"""What became of the bot's kf answer to one customer message, as the sidebar reports it.

The answer is an outbox effect keyed by the message (`answer_key`); its delivery state, not the
matcher's decision, says whether the customer got it. A kf message without an answer effect was
handed to a person (or a person already had the conversation).
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.models import Message
from bot.outbox import effects
from bot.outbox.model import DONE, OPEN_STATUSES

# sent: delivered; sending: recorded, not delivered yet; failed: parked, discarded or refused
# (a person took over, the 5-message limit); handed_over: no answer was recorded.
Status = Literal["sent", "sending", "failed", "handed_over"]


def answer_key(message_id: int) -> str:
    """Effect key of the bot's kf answer to one inbound message."""
    return f"kf-answer:{message_id}"


async def status(session: AsyncSession, message: Message) -> Status | None:
    """The state of the bot's answer to a kf message; None for other sources (never answered)."""
    if message.source != "kf" or message.direction != "in":
        return None
    effect = await effects.by_key(session, answer_key(message.id))
    if effect is None:
        return "handed_over"
    if effect.status in OPEN_STATUSES:
        return "sending"
    if effect.status == DONE and effect.outcome == "sent":
        return "sent"
    return "failed"


async def status_of(session: AsyncSession, message_id: int) -> Status | None:
    """`status` by message id (None when the message is unknown)."""
    message = await session.get(Message, message_id)
    return None if message is None else await status(session, message)
