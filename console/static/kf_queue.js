// kf handover queue: poll the page's JSON every few seconds and redraw; wait times tick.
"use strict";

(function () {
  const body = document.getElementById("kf-rows");
  const initial = Console.data("queue-data");
  if (!body || !initial) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const live = document.getElementById("live-state");
  let servicers = initial.servicers;
  let loaded = Date.now();

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function form(action, extra, label, style) {
    const f = el("form", { method: "post", action: action, class: "row-form" });
    f.appendChild(el("input", { type: "hidden", name: "csrf", value: csrf }));
    if (extra) f.appendChild(extra);
    f.appendChild(el("button", { class: "btn btn-sm " + style, type: "submit" }, label));
    return f;
  }

  function waitedText(seconds) {
    return Math.floor(seconds / 60) + " 分 " + (seconds % 60) + " 秒";
  }

  function row(r) {
    const tr = el("tr", { "data-id": String(r.id), "data-status": r.status });
    tr.appendChild(el("td", { class: "strong" }, r.customer));
    const q = el("td", {}, r.question || "—");
    q.appendChild(el("br"));
    q.appendChild(el("span", { class: "muted" }, r.reason));
    tr.appendChild(q);
    const cls = r.status === "failed" ? "status warn" : r.status === "held" ? "status ok" : "status";
    const st = el("td");
    st.appendChild(el("span", { class: cls }, r.status_label));
    for (const extra of [r.servicer ? r.servicer_name : "", r.error]) {
      if (!extra) continue;
      st.appendChild(el("br"));
      st.appendChild(el("span", { class: "muted" }, extra));
    }
    tr.appendChild(st);
    tr.appendChild(el("td", {
      class: "num" + (r.long ? " wait-long" : ""), "data-waited": String(r.waited),
      "data-ticking": r.ticking ? "1" : "",
    }, waitedText(r.waited)));
    const act = el("td");
    act.appendChild(form("/console/kf/" + r.id + "/claim", null, "我来接待", "btn-primary"));
    const pick = el("select", { name: "servicer", "aria-label": "分配给" });
    for (const s of servicers) pick.appendChild(el("option", { value: s.userid }, s.name));
    act.appendChild(form("/console/kf/" + r.id + "/assign", pick, "分配", "btn-default"));
    tr.appendChild(act);
    return tr;
  }

  function draw(data) {
    servicers = data.servicers;
    loaded = Date.now();
    const busy = document.activeElement && body.contains(document.activeElement);
    if (busy) return; // do not pull a select out from under the supervisor's hand
    const rows = data.items.map(row);
    if (!rows.length) {
      const tr = el("tr", { class: "empty-row" });
      tr.appendChild(el("td", { colspan: "5", class: "empty" }, "没有等待人工的会话"));
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    document.getElementById("waiting-count").textContent = String(data.waiting);
    document.getElementById("open-count").textContent = String(data.items.length);
  }

  async function poll() {
    try {
      const resp = await fetch(location.pathname, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      draw(await resp.json());
      live.textContent = "";
    } catch (exc) {
      live.textContent = "（暂时无法刷新，稍后重试）";
    }
  }

  function tick() {
    const extra = Math.floor((Date.now() - loaded) / 1000);
    for (const cell of body.querySelectorAll("td[data-ticking='1']")) {
      cell.textContent = waitedText(Number(cell.getAttribute("data-waited")) + extra);
    }
  }

  loaded = Date.now();
  setInterval(poll, (initial.poll || 5) * 1000);
  setInterval(tick, 1000);
})();
