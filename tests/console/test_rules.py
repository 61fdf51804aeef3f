"""The keyword-rules page in headless Chromium: create and edit a rule, test a sentence with
the matching phrase highlighted (as text nodes), and the live engine follows at once."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.core.keys import DB, KB
from bot.domain.models import AuditLog
from tests.console import seed
from tests.console.conftest import SignIn
from tests.sidebar import browser as chromium


async def _test_sentence(page: object, text: str) -> None:
    await page.fill("#rule-test-text", text)  # type: ignore[attr-defined]
    await page.click("#rule-test-form button[type=submit]")  # type: ignore[attr-defined]
    await page.wait_for_function(  # type: ignore[attr-defined]
        "t => document.getElementById('rule-test-output').textContent === t", arg=text
    )


async def test_admin_creates_a_rule_and_tests_a_sentence(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/rules/new")))
    await page.fill("input[name=id]", "rule-trap")
    await page.fill("input[name=name]", "霸王条款")
    await page.fill("textarea[name=phrases]", "霸王条款\n坑人")
    await page.fill("textarea[name=negations]", "坑人游戏")
    await page.fill("input[name=tags]", "条款争议")
    await page.fill("textarea[name=caution]", "先核对订单再回复")
    await page.check("input[name=escalate]")
    await page.click("#rule-form button[type=submit]")
    await page.wait_for_selector("p.notice.ok")
    engine = server.app[KB].snapshot.rules
    assert [h.rule.id for h in engine.scan("你们这是坑人").hits] == ["rule-trap"]
    assert not engine.scan("推荐个坑人游戏").hits  # the exclusion
    await page.goto(str(server.make_url("/console/rules")))
    await _test_sentence(page, f"你们不坑人{seed.XSS}，这是霸王条款")
    marks = page.locator("#rule-test-output mark")
    assert await marks.count() == 2
    assert await marks.nth(0).inner_text() == "坑人"
    assert await marks.nth(0).get_attribute("class") == "negated"  # "不坑人"
    assert await marks.nth(1).inner_text() == "霸王条款"
    assert await marks.nth(1).get_attribute("class") == "hit"
    # The sentence is shown as text: the payload in it stays inert.
    assert seed.XSS in await page.inner_text("#rule-test-output")
    assert await page.locator("[data-xss]").count() == 0
    actions = await page.inner_text("#rule-test-actions")
    assert "条款争议" in actions
    assert "升级给主管" in actions
    await page.screenshot(path=str(chromium.artifact("console-rules-test.png")), full_page=True)
    await _test_sentence(page, "想问下坑人游戏")
    assert "排除词" in await page.inner_text("#rule-test-phrases")
    assert await page.locator("#rule-test-output mark.exclusion").inner_text() == "坑人游戏"
    assert tab.dialogs == []
    assert tab.violations == []


async def test_edit_goes_live_and_bad_input_changes_nothing(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["admin"])
    page = tab.page
    await page.goto(str(server.make_url("/console/rules/rule-delete-me")))
    await page.fill("textarea[name=phrases]", "")
    await page.evaluate("document.querySelector('textarea[name=phrases]').required = false")
    async with page.expect_navigation() as nav:
        await page.click("#rule-form button[type=submit]")
    assert (await nav.value).status == 400
    assert "请至少填写一个触发词" in await page.inner_text("body")
    await page.goto(str(server.make_url("/console/rules/rule-delete-me")))
    await page.fill("textarea[name=phrases]", "找总部评理")
    await page.click("#rule-form button[type=submit]")
    await page.wait_for_selector("p.notice.ok")
    hits = server.app[KB].snapshot.rules.scan("我要找总部评理").hits
    assert [h.rule.id for h in hits] == ["rule-delete-me"]
    await page.check(".card.danger input[name=confirm]")
    await page.click(".card.danger button[type=submit]")
    await page.wait_for_selector("text=已删除规则 rule-delete-me")
    assert not server.app[KB].snapshot.rules.scan("我要找总部评理").hits
    async with server.app[DB]() as db:
        actions = {a.action for a in await db.scalars(select(AuditLog))}
    assert {"console:rule_edit", "console:rule_delete"} <= actions


async def test_supervisor_tests_sentences_but_cannot_edit(
    server: TestServer, sign_in: SignIn
) -> None:
    tab = await sign_in(seed.IDENTITIES["supervisor"])
    page = tab.page
    await page.goto(str(server.make_url("/console/rules")))
    assert await page.locator("a:has-text('新建规则')").count() == 0
    await _test_sentence(page, "用了之后脸红肿")
    assert await page.locator("#rule-test-output mark.hit").inner_text() == "红肿"
    await page.goto(str(server.make_url("/console/rules/rule-xss")))
    assert await page.locator("#rule-form fieldset[disabled]").count() == 1
