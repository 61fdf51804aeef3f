"""SOP rules as data: the seeds validate, YAML export and import round-trip, bad rules get a
Chinese error naming what is wrong, send windows open and close in the corp's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.core.errors import UsageError
from bot.core.settings import Settings
from bot.domain.lifecycle_models import SopRule
from bot.domain.sop import editing, rules, runs
from bot.sandbox import demo


def test_seed_rules_round_trip_through_yaml() -> None:
    seeds = rules.read_file(demo.DEMO_SOP_RULES)
    assert [r["id"] for r in seeds] == ["icebreak", "warming", "silent", "silent-replied",
                                        "idle-to-pool"]  # fmt: skip
    stored = [SopRule(id=r["id"], name=r["name"], trigger=r["trigger"],
                      conditions=r["conditions"], steps=r["steps"], paused=r["paused"])
              for r in seeds]  # fmt: skip
    again = rules.read_yaml(rules.to_yaml(stored))
    assert again == seeds


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"id": "Bad"}, "只能用小写字母"),
        ({"id": "a", "trigger": {"kind": "moon"}}, "触发条件 kind 应为"),
        ({"id": "a", "trigger": {"kind": "silent", "days": 0}}, "days 应为 1-365"),
        # YAML hands over whatever was typed: none of these may escape as a 500.
        ({"id": "a", "trigger": {"kind": "silent", "days": "abc"}}, "days 应为 1-365 的整数"),
        ({"id": "a", "trigger": {"kind": "silent", "days": 1.5}}, "days 应为 1-365 的整数"),
        ({"id": "a", "trigger": {"kind": "silent", "days": [3]}}, "days 应为 1-365 的整数"),
        ({"id": "a", "trigger": {"kind": ["silent"]}}, "触发条件 kind 应为"),
        ({"id": "a", "trigger": {"kind": "added"},
          "steps": [{"actions": [{"type": {"a": 1}}]}]}, "动作类型应为"),
        ({"id": "a", "trigger": {"kind": "tag_added"}}, "触发条件需要 tag"),
        ({"id": "a", "trigger": {"kind": "added"}, "steps": []}, "需要 1-10 个步骤"),
        ({"id": "a", "trigger": {"kind": "added"}, "steps": [{"actions": [{"type": "x"}]}]},
         "动作类型应为"),
        ({"id": "a", "trigger": {"kind": "added"},
          "steps": [{"delay": "soon", "actions": [{"type": "pool"}]}]}, "延迟「soon」看不懂"),
        ({"id": "a", "trigger": {"kind": "added"},
          "steps": [{"window": "21:00-09:00", "actions": [{"type": "pool"}]}]}, "开始要早于结束"),
        ({"id": "a", "trigger": {"kind": "added"},
          "steps": [{"actions": [{"type": "mass", "text": "x",
                                  "link": {"url": "http://x"}}]}]}, "链接必须是 https"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_in_chinese(raw: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        rules.validate(raw)


def test_yaml_errors_name_the_problem() -> None:
    with pytest.raises(UsageError, match="YAML 格式错误"):
        rules.read_yaml("rules: [")
    one = "{id: a, trigger: {kind: added}, steps: [{actions: [{type: pool}]}]}"
    with pytest.raises(UsageError, match="规则 id 重复"):
        rules.read_yaml(f"rules: [{one}, {one}]")


def test_send_window_in_the_corp_time_zone() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    window = rules.Window(*rules.parse_window("09:00-21:00"))
    at_22 = datetime(2026, 11, 29, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    opening = runs.next_open(window, at_22, tz)
    assert opening == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 09:00 the next morning
    at_07 = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # 07:00 on the 30th
    assert runs.next_open(window, at_07, tz) == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert runs.next_open(window, datetime(2026, 11, 30, 2, 0, tzinfo=UTC), tz) is None


@pytest.mark.parametrize("value", ["只有一个", "甲,甲", "," * 3])
def test_stage_setting_needs_two_distinct_stages(value: str) -> None:
    with pytest.raises(ValidationError, match="至少 2 个不重复的阶段名"):
        Settings(lifecycle_stages=value)


def test_stage_setting_and_activity_windows() -> None:
    settings = Settings(lifecycle_stages="新,老", activity_windows="3,14")
    assert settings.stage_names == ("新", "老")
    assert settings.activity_days == (3, 14)
    assert Settings(activity_windows="9,2").activity_days == (7, 30)  # nonsense: the default


BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "rules: [*b]\n"
)


def test_yaml_references_are_refused_in_the_rule_file_and_the_editor() -> None:
    """Nested aliases read as 9**n items wherever the rules are walked (the KB import had the
    same hole); no rule file needs one."""
    with pytest.raises(UsageError, match="不支持引用"):
        rules.read_yaml(BOMB)
    with pytest.raises(UsageError, match="不支持引用"):
        editing.rules_from_yaml(BOMB, Settings())  # type: ignore[call-arg]
