// Keyword rules page: test a sentence against the live rules, highlighting the phrases found.
// The server returns spans into the sentence; the sentence is rebuilt from text nodes and
// <mark> elements, never parsed as HTML.
"use strict";

(function () {
  const form = document.getElementById("rule-test-form");
  if (!form) return;
  const input = document.getElementById("rule-test-text");
  const output = document.getElementById("rule-test-output");
  const list = document.getElementById("rule-test-phrases");
  const actions = document.getElementById("rule-test-actions");

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Marks for the spans: hits win over other fates where spans overlap; no nesting. */
  function segments(text, phrases) {
    const marks = [];
    const rank = { hit: 0, excluded: 1, negated: 2, overridden: 3 };
    const ordered = phrases.slice().sort((a, b) => rank[a.status] - rank[b.status]);
    const take = (start, end, cls, title) => {
      if (marks.some((m) => start < m.end && m.start < end)) return;
      marks.push({ start, end, cls, title });
    };
    ordered.forEach((p) => {
      // An excluded phrase sits inside its exclusion: the exclusion is what is marked.
      if (p.by) take(p.by[0], p.by[1], "exclusion", p.rule + "：排除词，不触发");
      take(p.start, p.end, p.status, p.rule + "：" + p.status_label);
    });
    marks.sort((a, b) => a.start - b.start);
    return marks;
  }

  function render(result) {
    output.replaceChildren();
    const text = result.text;
    let at = 0;
    segments(text, result.phrases).forEach((m) => {
      if (m.start > at) output.appendChild(document.createTextNode(text.slice(at, m.start)));
      const mark = el("mark", m.cls, text.slice(m.start, m.end));
      mark.title = m.title;
      output.appendChild(mark);
      at = m.end;
    });
    if (at < text.length) output.appendChild(document.createTextNode(text.slice(at)));
    list.replaceChildren();
    if (!result.phrases.length) list.appendChild(el("li", "muted", "没有命中任何规则"));
    result.phrases.forEach((p) => {
      list.appendChild(el("li", "phrase-" + p.status, "「" + p.phrase + "」→ " + p.rule + "：" + p.status_label));
    });
    const a = result.actions;
    const done = [];
    if (a.tags.length) done.push("打标签 " + a.tags.join("、"));
    if (a.special_care) done.push("加入特别关注");
    if (a.notify) done.push("通知客服");
    if (a.escalate) done.push("升级给主管");
    a.cautions.forEach((c) => done.push("提醒：" + c));
    actions.textContent = done.length ? "将执行：" + done.join("；") : "不执行任何动作";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      render(await Console.post("/console/rules/test", { text: input.value }));
    } catch (err) {
      output.replaceChildren();
      list.replaceChildren(el("li", "status warn", err.message));
      actions.textContent = "";
    }
  });
})();
