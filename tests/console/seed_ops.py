"""Seed data of the channel, welcome, tag and kf-queue pages (XSS in every shown field)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.db import utcnow
from bot.domain.models import Channel, Customer, CustomerTag, Message, Tag, WelcomeTemplate
from bot.domain.ops_models import KfHandover
from tests.console.seed import DEPT3_SECRET, XSS, XSS_SCRIPT

KF = "wkconsole0001"
# A kf customer (no rep: anyone may take them) and a dept-3 servicer's conversation.
KF_CUSTOMER = ("wmkfcust0001", f"客服访客{XSS}")
KF_DEPT3 = ("wmkfcust3001", DEPT3_SECRET)


async def seed(session: AsyncSession) -> None:
    """Channels, templates, tags on customers and open kf handovers."""
    session.add(WelcomeTemplate(id="xsstpl", scope="default", target="",
                                text=f"你好{{customer}}{XSS}，我是{{rep}}{XSS_SCRIPT}",
                                attachments=[{"kind": "link", "title": XSS, "url": "https://example.com/x",
                                              "desc": XSS_SCRIPT}]))  # fmt: skip
    session.add(WelcomeTemplate(id="rep2tpl", scope="user", target="rep2", text="你好，我是{rep}"))
    session.add(WelcomeTemplate(id="livetpl", scope="user", target="boss",
                                text="直播间专属福利：你好{customer|朋友}"))  # fmt: skip
    await session.flush()
    session.add(Channel(state="xsschan", name=f"渠道{XSS}", tags=[XSS_SCRIPT], tag_group="来源",
                        template_id="xsstpl", remark=XSS))  # fmt: skip
    session.add(Channel(state="oldchan", name="旧渠道", tags=["旧"]))
    for tag_id, group_id, group, name in (
        ("etxss1", "egsrc", "来源", f"抖音{XSS}"),
        ("etxss2", "egsrc", "来源", "门店"),
        ("etxss3", "egid", f"身份{XSS_SCRIPT}", "学生"),
    ):
        session.add(Tag(id=tag_id, group_id=group_id, group_name=group, name=name))
    await session.flush()
    session.add(CustomerTag(external_userid="wmcust2000001", tag_id="etxss1"))
    session.add(CustomerTag(external_userid="wmcust3000001", tag_id="etxss1"))
    session.add(CustomerTag(external_userid="wmcust3000001", tag_id="etxss2"))
    for euid, name in (KF_CUSTOMER, KF_DEPT3):
        session.add(Customer(external_userid=euid, name=name))
    await session.flush()
    question = Message(source="kf", external_userid=KF_CUSTOMER[0], open_kfid=KF,
                       text=f"能退货吗{XSS_SCRIPT}")  # fmt: skip
    session.add(question)
    await session.flush()
    now = utcnow()
    session.add(KfHandover(open_kfid=KF, external_userid=KF_CUSTOMER[0], message_id=question.id,
                           reason=f"机器人没有把握{XSS}", requested_at=now - timedelta(minutes=7)))
    session.add(KfHandover(open_kfid=KF, external_userid=KF_DEPT3[0], reason="客户要求人工",
                           status="held", servicer_userid="rep3", taken_at=now,
                           requested_at=now - timedelta(minutes=3)))  # fmt: skip
    await session.flush()
