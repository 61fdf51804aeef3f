"""bot.domain.sop.editing: one rule from YAML or the form, checked by the import's validator
and the configured stages, with Chinese errors; the editor's YAML round-trips."""

from __future__ import annotations

import pytest
import yaml

from bot.core.errors import UsageError
from bot.core.settings import Settings
from bot.domain.sop import editing

SETTINGS = Settings()
RULE = """
id: warm
name: 升温
trigger: {kind: tag_added, tag: 高意向}
conditions: {stages: [意向明确]}
steps:
  - delay: 2d
    window: "09:00-21:00"
    actions: [{type: stage, stage: 报价阶段}, {type: task, text: 您好}]
"""


def test_one_rule_from_yaml_in_any_of_the_import_shapes() -> None:
    rule = editing.rule_from_yaml(RULE, SETTINGS)
    assert rule["steps"][0]["delay"] == 172800
    wrapped = yaml.safe_dump({"rules": [yaml.safe_load(RULE)]}, allow_unicode=True)
    assert editing.rule_from_yaml(wrapped, SETTINGS) == rule
    # What the editor shows reads back to the same rule (delays written as 2d).
    shown = editing.rule_yaml(rule)
    assert "delay: 2d" in shown
    assert editing.rule_from_yaml(shown, SETTINGS) == rule


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: [unclosed", "YAML 格式错误"),
        ("- id: a\n- id: b", "只编辑一条规则"),
        (RULE.replace("tag: 高意向", "tag: ''"), "触发条件需要 tag"),
        (RULE.replace("kind: tag_added, tag: 高意向", "kind: silent, days: abc"), "1-365 的整数"),
        (RULE.replace("stage: 报价阶段", "stage: 不存在"), "没有阶段「不存在」"),
        (RULE.replace("stages: [意向明确]", "stages: [九霄]"), "没有阶段「九霄」"),
        (RULE.replace("type: task", "type: explode"), "动作类型应为"),
        (RULE.replace("id: warm", "id: Warm!"), "只能用小写字母"),
    ],
)
def test_bad_rules_get_a_chinese_error(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        editing.rule_from_yaml(text, SETTINGS)
    assert message in caught.value.message


def test_rule_from_the_form() -> None:
    form = {
        "id": "silent-care", "name": "沉默关怀", "trigger_kind": "silent", "trigger_value": "30",
        "tags": "老客户，VIP", "not_tags": "", "stages": "已成交", "channels": "douyin store",
        "departments": "2, 3", "paused": "1",
        "steps": "- delay: 0\n  actions: [{type: task, text: 好久不见}]\n",
    }  # fmt: skip
    rule = editing.rule_from_form(form, SETTINGS)
    assert rule["trigger"] == {"kind": "silent", "days": 30}
    assert rule["conditions"]["tags"] == ["老客户", "VIP"]
    assert rule["conditions"]["channels"] == ["douyin", "store"]
    assert rule["conditions"]["departments"] == [2, 3]
    assert rule["paused"] is True
    assert editing.form_of(rule)["trigger_value"] == "30"
    for change, message in (
        ({"trigger_value": "三十"}, "天数请填 1-365 的整数"),
        ({"departments": "二组"}, "部门请填数字部门 ID"),
        ({"steps": "delay: 0"}, "步骤请写成 YAML 列表"),
        ({"steps": ""}, "需要 1-10 个步骤"),
    ):
        with pytest.raises(UsageError) as caught:
            editing.rule_from_form({**form, **change}, SETTINGS)
        assert message in caught.value.message, change
