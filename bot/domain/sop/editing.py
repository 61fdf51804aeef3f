"""Editing SOP rules one at a time (the console): a rule from its YAML or from a form's common
fields, checked by the same validator the YAML import uses, then against the configured stages.

Nothing here writes: the caller stores the validated rule (rules.store) with its audit row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from bot.core.errors import UsageError
from bot.core.settings import Settings
from bot.domain.sop import rules
from knowledge import yamltext

JSON = dict[str, Any]
_SPLIT = re.compile(r"[,，、\s]+")
# The form's one trigger parameter goes under this key, by trigger kind.
TRIGGER_PARAM = {
    "tag_added": "tag",
    "tag_removed": "tag",
    "stage_entered": "stage",
    "silent": "days",
    "no_followup": "days",
    "replied": "rule",
}
STATUS_LABEL = {
    "pending": "待执行",
    "task": "待员工发送",
    "sent": "员工已发送",
    "mass": "待员工确认群发",
    "done": "已完成",
    "skipped": "已跳过",
}
ACTION_LABEL = {
    "task": "员工任务",
    "mass": "企业群发",
    "tag_add": "打标签",
    "tag_remove": "去标签",
    "stage": "改阶段",
    "pool": "移入公海",
    "notify": "通知",
    "followup": "跟进提醒",
}
CONDITION_LABEL = {
    "tags": "有标签",
    "not_tags": "没有标签",
    "stages": "阶段",
    "channels": "渠道",
    "departments": "部门",
}


def _load(text: str) -> object:
    if len(text) > 100_000:
        raise UsageError("YAML 太长（最多 100000 字）")
    try:
        return yamltext.load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"YAML 格式错误：{str(exc).splitlines()[0]}") from None


def checked(raw: object, settings: Settings) -> JSON:
    """rules.validate, with malformed numbers as a Chinese error, then the stage names."""
    try:
        rule = rules.validate(raw)
    except (TypeError, ValueError):
        raise UsageError("规则里有数字字段填得不对（如 days、departments 应为整数）") from None
    check_stages(rule, settings)
    return rule


def check_stages(rule: JSON, settings: Settings) -> None:
    """UsageError when the rule names a stage that is not configured."""
    names = settings.stage_names
    wanted = [rule["trigger"].get("stage", "")] if "stage" in rule["trigger"] else []
    wanted += list(rule["conditions"].get("stages") or [])
    wanted += [a["stage"] for s in rule["steps"] for a in s["actions"] if a["type"] == "stage"]
    for stage in wanted:
        if stage not in names:
            raise UsageError(f"规则 {rule['id']}：没有阶段「{stage}」，可选：{'、'.join(names)}")


def rule_from_yaml(text: str, settings: Settings) -> JSON:
    """One rule from YAML: a rule mapping, or a `rules:` list (or bare list) of exactly one."""
    data = _load(text)
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    if isinstance(data, list):
        if len(data) != 1:
            raise UsageError(f"这里只编辑一条规则，YAML 里有 {len(data)} 条；多条请用「导入」")
        data = data[0]
    return checked(data, settings)


def rules_from_yaml(text: str, settings: Settings) -> list[JSON]:
    """Every rule of an import (rules.read_yaml), each also checked against the stages."""
    if len(text) > 1_000_000:
        raise UsageError("YAML 太长（最多 1000000 字）")
    try:
        found = rules.read_yaml(text)
    except (TypeError, ValueError):
        raise UsageError("规则里有数字字段填得不对（如 days、departments 应为整数）") from None
    for rule in found:
        check_stages(rule, settings)
    return found


def _names(raw: str) -> list[str]:
    return [part for part in _SPLIT.split(raw.strip()) if part]


def rule_from_form(form: Mapping[str, str], settings: Settings) -> JSON:
    """A rule from the form's common fields; its steps come as YAML (a list of steps)."""
    kind = form.get("trigger_kind", "").strip()
    trigger: JSON = {"kind": kind}
    param = TRIGGER_PARAM.get(kind)
    value = form.get("trigger_value", "").strip()
    if param == "days":
        if not value.isdigit() or len(value) > 3:
            raise UsageError("触发条件的天数请填 1-365 的整数")
        trigger["days"] = int(value)
    elif param:
        trigger[param] = value
    steps = _load(form.get("steps", ""))
    if steps is None:
        steps = []
    if isinstance(steps, dict) and "steps" in steps:
        steps = steps["steps"]
    if not isinstance(steps, list):
        raise UsageError("步骤请写成 YAML 列表（每步以「- delay:」开头）")
    departments = _names(form.get("departments", ""))
    if any(not d.isdigit() or len(d) > 10 for d in departments):
        raise UsageError("条件里的部门请填数字部门 ID，用逗号或空格分开")
    raw = {
        "id": form.get("id", "").strip(),
        "name": form.get("name", "").strip(),
        "trigger": trigger,
        "steps": steps,
        "paused": form.get("paused") in ("1", "on"),
        "conditions": {
            "tags": _names(form.get("tags", "")),
            "not_tags": _names(form.get("not_tags", "")),
            "stages": _names(form.get("stages", "")),
            "channels": _names(form.get("channels", "")),
            "departments": departments,
        },
    }
    return checked(raw, settings)


def form_of(rule: JSON) -> dict[str, str]:
    """A stored rule's common fields as the form shows them."""
    trigger = rule.get("trigger") or {}
    param = TRIGGER_PARAM.get(str(trigger.get("kind", "")))
    conditions = rule.get("conditions") or {}
    out = {
        "id": str(rule.get("id", "")),
        "name": str(rule.get("name", "")),
        "trigger_kind": str(trigger.get("kind", "")),
        "trigger_value": str(trigger.get(param, "")) if param else "",
        "paused": "1" if rule.get("paused") else "",
        "steps": yaml.safe_dump(
            _readable(list(rule.get("steps") or [])), allow_unicode=True, sort_keys=False
        ),
    }
    for key in CONDITION_LABEL:
        out[key] = ", ".join(str(v) for v in conditions.get(key) or [])
    return out


def delay_text(seconds: int) -> str | int:
    """A delay as an admin writes it ("2d", "24h", "10m"); 0 and odd seconds stay numbers."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return seconds


def _readable(steps: list[JSON]) -> list[JSON]:
    return [{**step, "delay": delay_text(int(step.get("delay") or 0))} for step in steps]


def rule_yaml(rule: JSON) -> str:
    """One rule as the YAML editor shows it (delays as 2d / 24h / 10m)."""
    shown = {**rule, "steps": _readable(list(rule.get("steps") or []))}
    return yaml.safe_dump(shown, allow_unicode=True, sort_keys=False)


def describe_conditions(conditions: JSON) -> list[str]:
    """The rule's conditions in words, e.g. ["有标签：高意向"]."""
    out = []
    for key, label in CONDITION_LABEL.items():
        values = conditions.get(key) or []
        if values:
            out.append(f"{label}：{'、'.join(str(v) for v in values)}")
    return out


def describe_step(step: JSON) -> str:
    """A step in words, e.g. "10分钟后（09:00-21:00）：企业群发、打标签"."""
    delay = int(step.get("delay") or 0)
    if delay == 0:
        when = "立即"
    elif delay % 86400 == 0:
        when = f"{delay // 86400}天后"
    elif delay % 3600 == 0:
        when = f"{delay // 3600}小时后"
    elif delay % 60 == 0:
        when = f"{delay // 60}分钟后"
    else:
        when = f"{delay}秒后"
    if step.get("window"):
        when += f"（{step['window']}）"
    kinds = "、".join(
        ACTION_LABEL.get(a.get("type", ""), a.get("type", "")) for a in step.get("actions") or []
    )
    return f"{when}：{kinds}"
