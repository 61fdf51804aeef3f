"""SOP rules as data: validation, YAML import/export, listing, pause and resume."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import NotFoundError, UsageError
from bot.domain.lifecycle_models import SopRule
from knowledge import yamltext

JSON = dict[str, Any]

TRIGGERS = {
    "added": "添加客户（可按渠道）",
    "tag_added": "打上标签",
    "tag_removed": "去掉标签",
    "stage_entered": "进入阶段",
    "silent": "沉默 N 天",
    "no_followup": "N 天未跟进",
    "followup_overdue": "跟进逾期",
    "replied": "客户回复了某条 SOP",
}
ACTIONS = {"task", "mass", "tag_add", "tag_remove", "stage", "pool", "notify", "followup"}
CONDITIONS = {"tags", "not_tags", "stages", "channels", "departments"}
RULE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_DELAY = re.compile(r"(\d{1,6})\s*([smhd]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_WINDOW = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
TEXT_MAX = 1000


def parse_delay(value: object) -> int:
    """Seconds from "10m", "24h", "7d", "30s" or a number of seconds."""
    if isinstance(value, int) and value >= 0:
        return value
    found = _DELAY.fullmatch(str(value).strip())
    if found is None:
        raise UsageError(f"延迟「{value}」看不懂，请写如 10m、24h、7d")
    return int(found.group(1)) * _UNIT[found.group(2)]


def parse_window(value: str) -> tuple[time, time]:
    """(opens, closes) of "09:00-21:00"."""
    found = _WINDOW.fullmatch(value.strip())
    if found is None:
        raise UsageError(f"发送时段「{value}」看不懂，请写如 09:00-21:00")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    if not (h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60) or (h1, m1) >= (h2, m2):
        raise UsageError(f"发送时段「{value}」不对，开始要早于结束，如 09:00-21:00")
    return time(h1, m1), time(23, 59, 59) if h2 == 24 else time(h2, m2)


def _names(value: object, what: str) -> list[str]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list) else [value]
    out = [str(v).strip() for v in items if str(v).strip()]
    if any(len(v) > 64 for v in out):
        raise UsageError(f"{what}名称太长")
    return out


def _days(value: object, where: str) -> int:
    # YAML gives "abc", 1.5, lists...: anything but a whole number 1-365 is the author's typo.
    text = str(value if value is not None else "").strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit() and len(text) <= 3):
        raise UsageError(f"{where}：days 应为 1-365 的整数（现在是「{text[:20]}」）")
    days = int(text)
    if not 1 <= days <= 365:
        raise UsageError(f"{where}：days 应为 1-365")
    return days


def _action(raw: object, where: str) -> JSON:
    kind = raw.get("type") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(kind, str) or kind not in ACTIONS:
        raise UsageError(f"{where}：动作类型应为 {'、'.join(sorted(ACTIONS))} 之一")
    action: JSON = {"type": kind}
    text = str(raw.get("text") or "").strip()
    if len(text) > TEXT_MAX:
        raise UsageError(f"{where}：内容最多 {TEXT_MAX} 字")
    if kind in ("task", "mass", "notify", "followup"):
        if not text:
            raise UsageError(f"{where}：{kind} 动作需要 text 内容")
        action["text"] = text
    if kind in ("tag_add", "tag_remove"):
        action["tags"] = _names(raw.get("tags"), "标签")
        if not action["tags"]:
            raise UsageError(f"{where}：请写要加或去掉的标签 tags")
    if kind == "stage":
        action["stage"] = str(raw.get("stage") or "").strip()
        if not action["stage"]:
            raise UsageError(f"{where}：请写目标阶段 stage")
    if kind == "notify":
        action["to"] = str(raw.get("to") or "supervisor")
        if action["to"] not in ("rep", "supervisor", "both"):
            raise UsageError(f"{where}：notify 的 to 应为 rep、supervisor 或 both")
    link = raw.get("link")
    if kind in ("task", "mass") and isinstance(link, dict) and link.get("url"):
        url = str(link["url"])
        if not url.startswith("https://"):
            raise UsageError(f"{where}：链接必须是 https 地址")
        action["link"] = {"title": str(link.get("title") or "")[:64], "url": url,
                          "desc": str(link.get("desc") or "")[:128]}  # fmt: skip
    return action


def validate(raw: object) -> JSON:
    """A rule dict checked and normalised; UsageError (Chinese, naming the field) otherwise."""
    if not isinstance(raw, dict):
        raise UsageError("每条规则应是一个对象")
    rule_id = str(raw.get("id") or "").strip()
    if not RULE_ID.fullmatch(rule_id):
        raise UsageError(f"规则 id「{rule_id}」只能用小写字母、数字、- 和 _")
    where = f"规则 {rule_id}"
    trigger = raw.get("trigger") or {}
    kind = trigger.get("kind") if isinstance(trigger, dict) else None
    if not isinstance(kind, str) or kind not in TRIGGERS:
        raise UsageError(f"{where}：触发条件 kind 应为 {'、'.join(TRIGGERS)} 之一")
    trig: JSON = {"kind": kind}
    if trig["kind"] in ("tag_added", "tag_removed"):
        trig["tag"] = str(trigger.get("tag") or "").strip()
    if trig["kind"] == "stage_entered":
        trig["stage"] = str(trigger.get("stage") or "").strip()
    if trig["kind"] in ("silent", "no_followup"):
        trig["days"] = _days(trigger.get("days"), where)
    if trig["kind"] == "replied":
        trig["rule"] = str(trigger.get("rule") or "").strip()
    for key in ("tag", "stage", "rule"):
        if key in trig and not trig[key]:
            raise UsageError(f"{where}：触发条件需要 {key}")
    conditions = raw.get("conditions") or {}
    if not isinstance(conditions, dict) or set(conditions) - CONDITIONS:
        raise UsageError(f"{where}：条件只能有 {'、'.join(sorted(CONDITIONS))}")
    conds: JSON = {k: _names(conditions.get(k), k) for k in sorted(CONDITIONS)}
    conds["departments"] = [int(d) for d in conds["departments"] if str(d).isdigit()]
    steps = raw.get("steps") or []
    if not isinstance(steps, list) or not 1 <= len(steps) <= 10:
        raise UsageError(f"{where}：需要 1-10 个步骤 steps")
    out_steps: list[JSON] = []
    for i, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            raise UsageError(f"{where} 第 {i} 步应是一个对象")
        here = f"{where} 第 {i} 步"
        actions = [_action(a, here) for a in step.get("actions") or []]
        if not actions:
            raise UsageError(f"{here}：至少要有一个动作")
        item: JSON = {"delay": parse_delay(step.get("delay", 0)), "actions": actions}
        if step.get("window"):
            parse_window(str(step["window"]))
            item["window"] = str(step["window"]).replace(" ", "")
        if step.get("skip_if_replied"):
            item["skip_if_replied"] = True
        out_steps.append(item)
    name = str(raw.get("name") or rule_id).strip()[:128]
    return {"id": rule_id, "name": name, "trigger": trig, "conditions": conds,
            "steps": out_steps, "paused": bool(raw.get("paused", False))}  # fmt: skip


def read_yaml(text: str) -> list[JSON]:
    """Rules from YAML text ({"rules": [...]} or a bare list), validated."""
    try:
        data = yamltext.load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"YAML 格式错误：{str(exc).splitlines()[0]}") from None
    items = data.get("rules") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise UsageError("YAML 里应有 rules: 规则列表")
    rules = [validate(item) for item in items]
    ids = [r["id"] for r in rules]
    if len(set(ids)) != len(ids):
        raise UsageError("规则 id 重复")
    return rules


def read_file(path: Path) -> list[JSON]:
    """Rules from a YAML file."""
    return read_yaml(path.read_text(encoding="utf-8"))


def to_json(rule: SopRule) -> JSON:
    """A stored rule as data (what export writes and the console edits)."""
    return {"id": rule.id, "name": rule.name, "trigger": rule.trigger,
            "conditions": {k: v for k, v in rule.conditions.items() if v},
            "steps": rule.steps, "paused": rule.paused}  # fmt: skip


def to_yaml(rules: list[SopRule]) -> str:
    """The rules as YAML (import of the same text gives the same rules)."""
    data = {"rules": [to_json(r) for r in rules]}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


async def store(session: AsyncSession, rules: list[JSON], *, now: datetime) -> int:
    """Create or update rules by id (validated dicts); how many were written.

    An updated rule keeps its created_at: events since then still count.
    """
    known = {r.id: r for r in await session.scalars(select(SopRule))}
    for data in rules:
        rule = known.get(data["id"]) or SopRule(id=data["id"], created_at=now)
        rule.name, rule.trigger = data["name"], data["trigger"]
        rule.conditions, rule.steps = data["conditions"], data["steps"]
        rule.paused, rule.updated_at = data["paused"], now
        session.add(rule)
    await session.flush()
    return len(rules)


async def list_rules(session: AsyncSession) -> list[SopRule]:
    """Every rule, by id."""
    return list(await session.scalars(select(SopRule).order_by(SopRule.id)))


async def set_paused(
    session: AsyncSession, rule_id: str, paused: bool, *, now: datetime
) -> SopRule:
    """Pause (no new runs, due steps wait) or resume a rule."""
    rule = await session.get(SopRule, rule_id.strip())
    if rule is None:
        raise NotFoundError(f"没有规则「{rule_id}」", chat_hint="发 /sop 查看规则列表")
    if rule.paused == paused:
        raise UsageError(f"规则「{rule.name}」已经是{'暂停' if paused else '运行'}状态")
    rule.paused, rule.updated_at = paused, now
    await session.flush()
    return rule


@dataclass(frozen=True)
class Window:
    """A send window in the corp's time zone."""

    opens: time
    closes: time


def window_of(step: JSON) -> Window | None:
    """The step's send window, if it has one."""
    if not step.get("window"):
        return None
    opens, closes = parse_window(str(step["window"]))
    return Window(opens, closes)


def describe_trigger(trigger: JSON) -> str:
    """The trigger in words, e.g. "打上标签「高意向」"."""
    kind = str(trigger.get("kind") or "")
    label = TRIGGERS.get(kind, kind)
    if "tag" in trigger:
        return f"{label}「{trigger['tag']}」"
    if "stage" in trigger:
        return f"{label}「{trigger['stage']}」"
    if "days" in trigger:
        return label.replace("N", str(trigger["days"]))
    if "rule" in trigger:
        return f"{label}「{trigger['rule']}」"
    return label
