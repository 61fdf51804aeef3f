// SANDBOX ONLY: the customer-chat simulator beside the sidebar, and a member's chat with the
// app (slash-commands). Everything is put on the page with textContent, never innerHTML.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const kfAccount = $("sim").dataset.kfAccount;
  let seenCalls = 0;
  let customers = [];
  let members = [];
  let chatId = "";
  // What each member and the app said to each other: userid -> [{who, text, kind}].
  const appChats = new Map();

  // kf/service_state/trans states (wecom-reference §5.5).
  const KF_STATES = { 0: "未处理", 1: "由智能助手接待", 2: "待接入池排队中", 3: "由人工接待", 4: "已结束" };

  function bubble(kind, who, ...parts) {
    const node = document.createElement("div");
    node.className = kind === "sys" ? "sys" : `bubble bubble-${kind}`;
    if (who) {
      const label = document.createElement("span");
      label.className = "bubble-who";
      label.textContent = who;
      node.append(label);
    }
    for (const part of parts) node.append(typeof part === "string" ? document.createTextNode(part) : part);
    return node;
  }

  function append(log, node) {
    log.append(node);
    log.scrollTop = log.scrollHeight;
  }

  function line(kind, who, text) {
    append($("log"), bubble(kind, who, text));
  }

  // A link card, mini program or image as WeChat shows it under the text.
  function card(item) {
    const box = document.createElement("div");
    box.className = "sim-card";
    const title = document.createElement("strong");
    const desc = document.createElement("div");
    desc.className = "muted";
    const kind = item.msgtype;
    const body = item[kind] || {};
    if (kind === "link") {
      title.textContent = body.title || "链接";
      desc.textContent = body.desc || body.url || "";
      if (/^https?:\/\//.test(body.url || "")) {
        const link = document.createElement("a");
        link.href = body.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.className = "sim-card-url";
        link.textContent = body.url;
        box.append(title, desc, link);
        return box;
      }
    } else if (kind === "miniprogram") {
      title.textContent = `小程序：${body.title || body.appid || ""}`;
      desc.textContent = body.page || body.pagepath || "";
    } else if (kind === "image") {
      title.textContent = "[图片]";
    } else {
      title.textContent = `[${kind}]`;
    }
    box.append(title, desc);
    return box;
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

  const rep = () => $("rep").value;
  const member = () => $("member").value;
  const euid = () => $("customer").value;
  const radio = (name) => document.querySelector(`input[name=${name}]:checked`).value;
  const labelOf = (userid) => (members.find((m) => m.userid === userid) || {}).label || userid;
  const labelsOf = (touser) => String(touser || "").split("|").map(labelOf).join("、");

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
    members = data.staff;
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
        const answer = await json("/sidebar/sandbox/api/archive", { userid: rep(), external_userid: euid(), text });
        line("sys", "", `已进入会话存档（第 ${answer.seq} 条，加密存放）；存档拉取程序取回解密后交给侧边栏`);
      }
    } catch (err) {
      line("sys", "", `发送失败：${err.message}`);
    }
  }

  // ---------------------------------------------------------------- the member's app chat

  function appSay(userid, kind, who, text) {
    if (!appChats.has(userid)) appChats.set(userid, []);
    appChats.get(userid).push({ kind, who, text });
    if (userid === member()) renderAppChat();
  }

  function renderAppChat() {
    const items = appChats.get(member()) || [];
    const nodes = items.map((m) => bubble(m.kind, m.who, m.text));
    if (!nodes.length) nodes.push(bubble("sys", "", `${labelOf(member())} 还没有和应用说过话，试试 /help`));
    $("app-log").replaceChildren(...nodes);
    $("app-log").scrollTop = $("app-log").scrollHeight;
  }

  async function sendToApp(event) {
    event.preventDefault();
    const text = $("app-text").value.trim();
    const userid = member();
    if (!text || !userid) return;
    $("app-text").value = "";
    appSay(userid, "rep", labelOf(userid), text);
    try {
      const answer = await json("/sandbox/wecom/_events", { type: "app_text", userid, text });
      // A passive reply comes back in the callback's answer; a slower one arrives later as a
      // message/send, which the poll below shows.
      if (answer.reply_text) appSay(userid, "app", "应用", answer.reply_text);
    } catch (err) {
      appSay(userid, "sys", "", `发送失败：${err.message}`);
    }
  }

  // ---------------------------------------------------------------- WeCom calls, as they happen

  function describe(call) {
    const body = call.json || {};
    const path = call.path.replace(/^cgi-bin\//, "");
    if (path === "kf/send_msg" && body.touser === euid()) {
      const part = body[body.msgtype] || {};
      if (body.msgtype === "text") line("bot", "机器人（微信客服）", part.content || "");
      else append($("log"), bubble("bot", "机器人（微信客服）", card(body)));
    } else if (path === "externalcontact/send_welcome_msg") {
      const cards = (body.attachments || []).map(card);
      append($("log"), bubble("bot", "欢迎语", (body.text && body.text.content) || "", ...cards));
    } else if (path === "externalcontact/mark_tag" && body.external_userid === euid()) {
      const add = (body.add_tag || []).length;
      const remove = (body.remove_tag || []).length;
      line("sys", "", `企业微信 mark_tag：添加 ${add} 个标签，移除 ${remove} 个`);
    } else if (path === "kf/service_state/trans" && body.external_userid === euid()) {
      const state = KF_STATES[body.service_state] || `状态 ${body.service_state}`;
      const who = body.servicer_userid ? `，接待人 ${labelOf(body.servicer_userid)}` : "";
      if (body.service_state === 2 || body.service_state === 3) handedOver(`微信客服会话：${state}${who}`);
      else line("sys", "", `微信客服会话：${state}${who}`);
    } else if (path === "externalcontact/add_msg_template" && !call.errcode) {
      const who = labelOf(body.sender);
      for (const id of body.external_userid || []) {
        if (id === euid()) line("sys", "", `企业群发 → ${who} 的群发助手，待 ${who} 确认后客户才会收到`);
      }
      appSay(body.sender, "app", "群发助手", `你有一条企业群发待确认：${(body.text && body.text.content) || "（附件）"}`);
    } else if (path === "message/send" && call.errcode) {
      line("sys", "", `应用消息 → ${labelsOf(body.touser)} 发送失败（errcode ${call.errcode}）`);
    } else if (path === "message/send" && !call.duplicate) {
      const part = body[body.msgtype] || {};
      const text = body.msgtype === "textcard" ? `${part.title || ""}\n${(part.description || "").replace(/<[^>]*>/g, " ").trim()}` : part.content || "";
      line("sys", "", `应用消息 → ${labelsOf(body.touser)}`);
      for (const userid of String(body.touser || "").split("|")) appSay(userid, "app", "应用", text);
    }
  }

  // After a handover the bot stays silent until the person ends the session (in the WeCom
  // client; here, this button): a new user would otherwise think the FAQ answers broke.
  function handedOver(text) {
    const end = document.createElement("button");
    end.type = "button";
    end.className = "btn btn-default btn-sm end-session";
    end.textContent = "结束人工会话";
    const customer = euid();
    end.addEventListener("click", async () => {
      end.disabled = true;
      try {
        await json("/sandbox/wecom/_events", { type: "kf_end_session", open_kfid: kfAccount, external_userid: customer });
        line("sys", "", "人工会话已结束：客户的下一条消息重新由机器人接待");
      } catch (err) {
        // The fake's refusal is developer English: the only one a click can meet is a session
        // already ended (another handover line's button, another tab, a restarted server).
        console.warn("kf_end_session", err.message);
        if (err.message.startsWith("bad event")) {
          line("sys", "", "结束会话失败：这位客户现在没有在人工会话中（可能已经结束），机器人正在接待");
        } else {
          end.disabled = false;
          line("sys", "", "结束会话失败：连接模拟器出错，请重试");
        }
      }
    });
    append($("log"), bubble("sys", "", `${text}。之后客户的消息由人工回复，机器人不再自动回答，直到人工结束会话 `, end));
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
    const who = `${labelOf(rep())}（侧边栏 sendChatMessage）`;
    if (msg.msgtype === "text") {
      const text = (msg.text || {}).content || "";
      line("rep", who, text);
      // A rep's words in a 1:1 chat are archived too: they become the customer's timeline's
      // outbound messages (and the first-response time).
      if (radio("entry") === "single_chat_tools" && msg.to && text) {
        json("/sidebar/sandbox/api/archive", { userid: rep(), external_userid: msg.to, text, from: "rep" })
          .catch((err) => line("sys", "", `会话存档失败：${err.message}`));
      }
      // In a 微信客服 chat the rep's words reach kf sync as a servicer's message (origin 5).
      if (radio("entry") === "single_kf_tools" && text) {
        json("/sandbox/wecom/_events", { type: "kf_servicer_text", open_kfid: kfAccount, external_userid: euid(), servicer: rep(), text })
          .catch((err) => line("sys", "", `客服消息失败：${err.message}`));
      }
    }
    else if (msg.msgtype === "news") {
      const news = msg.news || {};
      append($("log"), bubble("rep", who, card({ msgtype: "link", link: { title: news.title, desc: news.desc, url: news.link } })));
    } else append($("log"), bubble("rep", who, card(msg)));
  });

  async function addCustomer(event) {
    event.preventDefault();
    try {
      const data = await json("/sidebar/sandbox/api/customers", { userid: rep(), name: $("new-name").value, state: $("new-state").value });
      line("sys", "", `新客户「${data.name}」添加了 ${labelOf(rep())}`);
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
      line("sys", "", `已添加示例客户「${data.name}」（渠道 douyin）。试试以客户身份发：下单后多久发货（机器人自动回答），再发：我过敏了（机器人回答，并打标签、提醒员工），或：转人工（交给人工接待）`);
      await loadCustomers(data.external_userid);
    } catch (err) {
      line("sys", "", `添加示例客户失败：${err.message}`);
    }
  }

  async function addGroup() {
    try {
      const ids = customers.map((c) => c.external_userid);
      const data = await json("/sidebar/sandbox/api/groups", { userid: rep(), name: `${labelOf(rep())}的客户群`, customers: ids });
      chatId = data.chat_id;
      line("sys", "", `已建客户群「${data.name}」（${ids.length} 位客户），侧边栏切换到客户群工具栏`);
      document.querySelector("input[name=entry][value=group_chat_tools]").checked = true;
      showSidebar(false);
    } catch (err) {
      line("sys", "", `建群失败：${err.message}`);
    }
  }

  async function confirmMass() {
    const userid = member();
    try {
      const answer = await json("/sandbox/wecom/_mass", { sender: userid });
      appSay(userid, "sys", "", answer.confirmed ? `已在群发助手确认 ${answer.confirmed} 条企业群发` : "群发助手里没有待确认的企业群发");
    } catch (err) {
      appSay(userid, "sys", "", `确认失败：${err.message}`);
    }
  }

  async function start() {
    $("confirm-mass").addEventListener("click", confirmMass);
    $("new-group").addEventListener("click", addGroup);
    $("say").addEventListener("submit", say);
    $("app-say").addEventListener("submit", sendToApp);
    $("member").addEventListener("change", renderAppChat);
    $("new-customer").addEventListener("submit", addCustomer);
    $("login").addEventListener("click", async () => { await loadCustomers(); $("member").value = rep(); renderAppChat(); showSidebar(true); });
    $("customer").addEventListener("change", () => showSidebar(false));
    for (const input of document.querySelectorAll("input[name=entry]")) input.addEventListener("change", () => showSidebar(false));
    const calls = await json("/sandbox/wecom/_calls").catch(() => []);
    seenCalls = calls.length;
    await loadCustomers();
    renderAppChat();
    if (!customers.length) await addFirstCustomer();
    showSidebar(true);
    $("sim").dataset.ready = "true"; // the sample customer is in; tests wait for this
    poll();
  }
  start();
})();
