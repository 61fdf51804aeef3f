"""SOP rules in Chromium: the list, pause and resume (supervisors), one rule's runs and
completion per rep in scope, the YAML export, and the admins' editor and import, whose errors
are Chinese and change nothing."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB
from bot.domain.lifecycle_models import SopRule
from bot.domain.models import AuditLog
from bot.domain.sop import rules
from tests.console import seed
from tests.console.conftest import SignIn


async def _rule(server: TestServer, rule_id: str) -> dict[str, Any] | None:
    async with server.app[DB]() as db:
        rule = await db.get(SopRule, rule_id)
        return rules.to_json(rule) if rule is not None else None


async def _audits(server: TestServer, action: str) -> list[AuditLog]:
    async with server.app[DB]() as db:
        return list(await db.scalars(select(AuditLog).where(AuditLog.action == action)))


async def test_supervisor_pauses_and_resumes_and_sees_runs_in_scope(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["supervisor"])
    page = tab.page
    await page.goto(str(server.make_url("/console/sop")))
    row = page.locator("tr[data-rule='warming']")
    assert "打上标签「高意向」" in await row.inner_text()
    await row.locator("button", has_text="暂停").click()
    await page.wait_for_url("**/console/sop?done=paused-warming")
    assert "已暂停规则 warming" in await page.inner_text("#done")
    assert (await _rule(server, "warming"))["paused"] is True  # type: ignore[index]
    await page.locator("tr[data-rule='warming'] button", has_text="恢复").click()
    await page.wait_for_url("**/console/sop?done=resumed-warming")
    assert (await _rule(server, "warming"))["paused"] is False  # type: ignore[index]
    # The notice names only what a change redirects with, never text from a crafted link.
    await page.goto(str(server.make_url("/console/sop?done=paused-x 请联系 400-123")))
    assert await page.locator("#done").count() == 0
    pauses = await _audits(server, "console:sop_pause")
    assert [(a.actor, a.target, a.detail["paused"]) for a in pauses] == [
        ("sup2", "warming", True), ("sup2", "warming", False)
    ]  # fmt: skip
    # Supervisors view and pause; only admins edit.
    assert await page.locator("a", has_text="新建规则").count() == 0
    assert await page.locator("tr[data-rule='warming'] a", has_text="编辑").count() == 0
    assert (await page.goto(str(server.make_url("/console/sop/new")))).status == 403

    # One rule: the runs of the supervisor's reps only, and their completion rate.
    await page.goto(str(server.make_url("/console/sop/rule/xss-rule")))
    assert await page.locator("[data-run]").count() == 2  # rep2's two, not rep3's
    assert seed.DEPT3_SECRET not in await page.inner_text("body")
    completion = await page.inner_text("#t-completion")
    assert "50.0%" in completion
    await page.locator("#t-runs .seg a", has_text="待员工发送").click()
    await page.wait_for_url("**/console/sop/rule/xss-rule?status=task")
    assert await page.locator("[data-run]").count() == 1
    # A run links to its customer's page, which lists the customer's runs.
    await page.locator("[data-run] a").first.click()
    await page.wait_for_url("**/console/customers/wmcust2000001")
    assert "规则" in await page.inner_text("#t-runs")

    exported = await page.request.get(str(server.make_url("/console/sop?format=yaml")))
    assert exported.status == 200
    assert "attachment" in exported.headers["content-disposition"]
    again = rules.read_yaml((await exported.body()).decode())
    assert {"warming", "icebreak", "xss-rule"} <= {r["id"] for r in again}


async def test_admin_edits_rules_with_the_form_and_yaml_and_errors_change_nothing(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    before = await _rule(server, "warming")
    await page.goto(str(server.make_url("/console/sop/rule/warming/edit")))
    bad = "id: warming\ntrigger: {kind: nope}\nsteps: []\n"
    await page.fill("#rule-yaml textarea[name=yaml]", bad)
    await page.click("#rule-yaml button[type=submit]")
    assert "触发条件 kind 应为" in await page.inner_text("#error")
    assert await page.input_value("#rule-yaml textarea[name=yaml]") == bad  # input kept
    assert await _rule(server, "warming") == before

    await page.goto(str(server.make_url("/console/sop/rule/warming/edit")))
    await page.fill("#rule-form input[name=stages]", "不存在的阶段")
    await page.click("#rule-form button[type=submit]")
    assert "没有阶段「不存在的阶段」" in await page.inner_text("#error")
    await page.fill("#rule-form input[name=trigger_value]", "")
    await page.fill("#rule-form input[name=stages]", "")
    await page.click("#rule-form button[type=submit]")
    assert "触发条件需要 tag" in await page.inner_text("#error")
    assert await _rule(server, "warming") == before

    await page.fill("#rule-form input[name=trigger_value]", "高意向")
    await page.fill("#rule-form input[name=name]", "高意向升温（新版）")
    await page.fill("#rule-form input[name=stages]", "初步了解, 意向明确")
    await page.click("#rule-form button[type=submit]")
    await page.wait_for_url("**/console/sop?done=saved-warming")
    after = await _rule(server, "warming")
    assert after is not None
    assert before is not None
    assert after["name"] == "高意向升温（新版）"
    assert after["conditions"]["stages"] == ["初步了解", "意向明确"]
    assert after["steps"] == before["steps"]  # the form keeps the steps as they were
    saved = await _audits(server, "console:sop_save")
    assert saved[-1].detail["before"]["name"] == before["name"]
    assert saved[-1].detail["after"]["name"] == "高意向升温（新版）"

    # A new rule from YAML; an id that exists is refused.
    await page.goto(str(server.make_url("/console/sop/new")))
    vip = ("id: vip-care\nname: 大客户关怀\ntrigger: {kind: stage_entered, stage: 已成交}\n"
           "steps:\n  - delay: 1d\n    actions: [{type: task, text: 感谢您的信任}]\n")  # fmt: skip
    await page.fill("#rule-yaml textarea[name=yaml]", vip.replace("vip-care", "warming"))
    await page.click("#rule-yaml button[type=submit]")
    assert "已存在" in await page.inner_text("#error")
    await page.fill("#rule-yaml textarea[name=yaml]", vip)
    await page.click("#rule-yaml button[type=submit]")
    await page.wait_for_url("**/console/sop?done=saved-vip-care")
    created = await _rule(server, "vip-care")
    assert created is not None
    assert created["steps"][0]["delay"] == 86400

    # Import: one bad rule rejects the whole file; a good file creates or updates each rule.
    two = ("rules:\n  - id: imp-a\n    trigger: {kind: added}\n"
           "    steps: [{actions: [{type: task, text: 你好}]}]\n"
           "  - id: imp-b\n    trigger: {kind: silent, days: 400}\n"
           "    steps: [{actions: [{type: task, text: 好久不见}]}]\n")  # fmt: skip
    await page.goto(str(server.make_url("/console/sop/import")))
    await page.fill("textarea[name=yaml]", two)
    await page.click("main form button[type=submit]")
    assert "days 应为 1-365" in await page.inner_text("#error")
    assert await _rule(server, "imp-a") is None
    good = two.replace("400", "14")
    picked = {"name": "rules.yaml", "mimeType": "text/yaml", "buffer": good.encode()}
    await page.set_input_files("#yaml-file", files=[picked])  # the picker fills the text area
    await page.wait_for_function("document.getElementById('yaml-text').value.includes('imp-b')")
    assert await page.input_value("textarea[name=yaml]") == good
    await page.click("main form button[type=submit]")
    await page.wait_for_url("**/console/sop?done=imported-2")
    assert await page.locator("tr[data-rule='imp-b']").count() == 1
    assert (await _audits(server, "console:sop_import"))[-1].detail["rules"] == ["imp-a", "imp-b"]


async def test_a_missing_rule_is_named_without_a_slash_command(
    server: TestServer, sign_in: SignIn
) -> None:
    """The console has no app chat: the error names the problem, not a command to send."""
    tab = await sign_in(seed.IDENTITIES["supervisor"])
    await tab.page.goto(str(server.make_url("/console/sop")))
    status, text = await tab.page.evaluate(
        """async ([url, token]) => {
            const resp = await fetch(url, {method: "POST", headers: {"X-CSRF-Token": token},
                body: new URLSearchParams({x: "1"}), credentials: "same-origin"});
            return [resp.status, await resp.text()];
        }""",
        [str(server.make_url("/console/sop/rule/nope/pause")), await tab.csrf(server)],
    )
    assert status == 404
    assert "没有规则「nope」" in text
    assert "/sop" not in text.replace("/console/sop", "")


def test_a_step_waiting_for_a_person_shows_no_completion_time() -> None:
    """A rep task and a 企业群发 to confirm carry done_at = when the step ran: the 完成 column
    showed it, so a task nobody had sent looked completed."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from bot.domain.lifecycle_models import SopRun
    from console.sop import finished

    ran = datetime(2026, 11, 30, 6, 46, tzinfo=UTC)
    tz = ZoneInfo("Asia/Shanghai")
    for waiting in ("task", "mass"):
        assert finished(SopRun(status=waiting, done_at=ran), tz) == ""
    for over in ("sent", "done"):
        assert "14:46" in finished(SopRun(status=over, done_at=ran), tz)
