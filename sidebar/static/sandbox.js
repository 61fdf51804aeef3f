// SANDBOX ONLY: the customer-chat simulator beside the sidebar (textContent only).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const kfAccount = $("sim").dataset.kfAccount;
  let seenCalls = 0;
  let customers = [];
  let chatId = "";

  function line(kind, who, text) {
    const node = document.createElement("div");
    node.className = kind === "sys" ? "sys" : `bubble bubble-${kind}`;
    if (who) {
      const label = document.createElement("span");
      label.className = "bubble-who";
      label.textContent = who;
      node.append(label);
    }
    node.append(document.createTextNode(text));
    $("log").append(node);
    $("log").scrollTop = $("log").scrollHeight;
  }

  async function json(url, body) {
    const init = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    };
    const resp = await fetch(url, init);
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.message || data.error || `HTTP ${resp.status}`);
    return data;
  }

  const rep = () => $("rep").value.trim();
  const euid = () => $("customer").value;
  const radio = (name) => document.querySelector(`input[name=${name}]:checked`).value;
  function sidebarUrl() {
    const entry = radio("entry");
    const where = entry === "group_chat_tools" ? { sbx_chat: chatId } : { sbx_contact: euid() };
    return `/sidebar/?${new URLSearchParams({ sbx_entry: entry, ...where })}`;
  }

  function showSidebar(login) {
    const next = sidebarUrl();
    $("frame").src = login ? `/sidebar/auth/login?${new URLSearchParams({ next, as: rep() })}` : next;
  }

  async function loadCustomers(selected) {
    const data = await json(`/sidebar/sandbox/api/state?${new URLSearchParams({ userid: rep() })}`);
    customers = data.customers;
    const options = customers.map((c) => {
      const option = document.createElement("option");
      option.value = c.external_userid;
      option.textContent = `${c.name || c.external_userid}${c.state ? "（" + c.state + "）" : ""}`;
      return option;
    });
    if (!options.length) {
      const empty = document.createElement("option");
      empty.value = "";
      empty.textContent = "（还没有客户，先添加一个）";
      options.push(empty);
    }
    $("customer").replaceChildren(...options);
    if (selected) $("customer").value = selected;
  }

  function customerName(id) {
    const found = customers.find((c) => c.external_userid === id);
    return (found && found.name) || "客户";
  }

  async function say(event) {
    event.preventDefault();
    const text = $("say-text").value.trim();
    if (!text || !euid()) return;
    line("customer", customerName(euid()), text);
    $("say-text").value = "";
    try {
      if (radio("channel") === "kf") {
        await json("/sandbox/wecom/_events", { type: "kf_text", open_kfid: kfAccount, external_userid: euid(), text });
      } else {
        await json("/sidebar/sandbox/api/archive", { userid: rep(), external_userid: euid(), text });
      }
    } catch (err) {
      line("sys", "", `发送失败：${err.message}`);
    }
  }

  function describe(call) {
    const body = call.json || {};
    const path = call.path.replace(/^cgi-bin\//, "");
    if (path === "kf/send_msg" && body.touser === euid()) {
      const part = body[body.msgtype] || {};
      line("bot", "机器人（微信客服自动回复）", part.content || part.title || `[${body.msgtype}]`);
    } else if (path === "externalcontact/send_welcome_msg") {
      line("bot", "欢迎语", (body.text && body.text.content) || "[附件]");
    } else if (path === "externalcontact/mark_tag" && body.external_userid === euid()) {
      const add = (body.add_tag || []).length;
      const remove = (body.remove_tag || []).length;
      line("sys", "", `企业微信 mark_tag：添加 ${add} 个标签，移除 ${remove} 个`);
    } else if (path === "kf/service_state/trans" && body.external_userid === euid()) {
      line("sys", "", `会话状态变更为 ${body.service_state}（转人工/结束）`);
    } else if (path === "message/send") {
      const part = body[body.msgtype] || {};
      line("sys", "", `应用消息 → ${body.touser}：${part.content || part.title || ""}`);
    }
  }

  async function poll() {
    try {
      const calls = await json("/sandbox/wecom/_calls");
      for (const call of calls.slice(seenCalls)) describe(call);
      seenCalls = calls.length;
    } catch {
      /* the server restarts; try again */
    }
    setTimeout(poll, 1200);
  }

  window.addEventListener("message", (event) => {
    if (event.origin !== location.origin || !event.data || !event.data.sandboxSent) return;
    const msg = event.data.sandboxSent;
    const part = msg[msg.msgtype] || {};
    line("rep", `${rep()}（侧边栏 sendChatMessage）`, part.content || part.title || `[${msg.msgtype}]`);
  });

  async function addCustomer(event) {
    event.preventDefault();
    try {
      const data = await json("/sidebar/sandbox/api/customers", { userid: rep(), name: $("new-name").value, state: $("new-state").value });
      line("sys", "", `新客户「${data.name}」添加了 ${rep()}`);
      event.target.reset();
      await loadCustomers(data.external_userid);
      showSidebar(false);
    } catch (err) {
      line("sys", "", `添加失败：${err.message}`);
    }
  }

  // A first visit starts with one customer, added through the real welcome flow, so the
  // sidebar has someone to show instead of an empty state.
  async function addFirstCustomer() {
    try {
      const data = await json("/sidebar/sandbox/api/customers", { userid: rep(), name: "林小姐", state: "douyin" });
      line("sys", "", `已添加示例客户「${data.name}」（渠道 douyin）。试试以客户身份发：我过敏了`);
      await loadCustomers(data.external_userid);
    } catch (err) {
      line("sys", "", `添加示例客户失败：${err.message}`);
    }
  }

  async function addGroup() {
    try {
      const ids = customers.map((c) => c.external_userid);
      const data = await json("/sidebar/sandbox/api/groups", { userid: rep(), name: `${rep()}的客户群`, customers: ids });
      chatId = data.chat_id;
      line("sys", "", `已建客户群「${data.name}」（${ids.length} 位客户），侧边栏切换到客户群工具栏`);
      document.querySelector("input[name=entry][value=group_chat_tools]").checked = true;
      showSidebar(false);
    } catch (err) {
      line("sys", "", `建群失败：${err.message}`);
    }
  }

  async function start() {
    $("new-group").addEventListener("click", addGroup);
    $("say").addEventListener("submit", say);
    $("new-customer").addEventListener("submit", addCustomer);
    $("login").addEventListener("click", async () => { await loadCustomers(); showSidebar(true); });
    $("customer").addEventListener("change", () => showSidebar(false));
    for (const input of document.querySelectorAll("input[name=entry]")) input.addEventListener("change", () => showSidebar(false));
    const calls = await json("/sandbox/wecom/_calls").catch(() => []);
    seenCalls = calls.length;
    await loadCustomers();
    if (!customers.length) await addFirstCustomer();
    showSidebar(true);
    $("sim").dataset.ready = "true"; // the sample customer is in; tests wait for this
    poll();
  }
  start();
})();
