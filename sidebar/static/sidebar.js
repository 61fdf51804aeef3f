// WeCom Sidekick sidebar: JS-SDK context -> customer card, reply help, actions.
// Every piece of data is put on the page with textContent, never innerHTML.
import {
  $, ApiError, api, attempt, el, fmtTime, initSdk, invoke, notice, state, toast,
} from "./core.js";

async function sendChat(kind, payload) {
  await invoke("sendChatMessage", { msgtype: kind, enterChat: true, [kind]: payload });
}

function attachmentMessage(att) {
  if (!att) return null;
  if (att.kind === "link" && att.url) {
    return ["news", { link: att.url, title: att.title, desc: att.desc, imgUrl: att.pic_url }];
  }
  if (att.kind === "miniprogram" && att.appid) {
    return ["miniprogram", { appid: att.appid, title: att.title, imgUrl: att.pic_url, page: att.page }];
  }
  if (att.kind === "image" && att.media_id) return ["image", { mediaid: att.media_id }];
  return null;
}

async function sendReply(text, attachment, feedback) {
  try {
    if (text) await sendChat("text", { content: text });
    const extra = attachmentMessage(attachment);
    if (extra) await sendChat(extra[0], extra[1]);
  } catch (err) {
    toast(err.message || "发送失败");
    return;
  }
  toast("已发送");
  if (feedback && feedback.question && feedback.entryId) offerFeedback(feedback);
}

function offerFeedback({ entryId, entryQuestion, question, where }) {
  const box = el("div", { class: "feedback" },
    el("span", {}, "把「", question, "」记为「", entryQuestion, "」的相似问法？"));
  const yes = el("button", { type: "button", class: "btn btn-primary btn-sm" }, "记录");
  const no = el("button", { type: "button", class: "btn btn-default btn-sm" }, "不用");
  yes.addEventListener("click", () => attempt(async () => {
    const res = await api("POST", "/feedback", { entry_id: entryId, question });
    box.replaceChildren(el("span", { class: "muted" }, res.added ? "已记录，知识库已更新" : "知识库里已有这个问法"));
  }));
  no.addEventListener("click", () => box.remove());
  box.append(el("div", { class: "row row-end" }, no, yes));
  where.prepend(box);
}

function openEditor(text, attachment, feedback) {
  const dialog = $("editor");
  $("editor-text").value = text;
  dialog.onclose = () => {
    if (dialog.returnValue === "send") sendReply($("editor-text").value.trim(), attachment, feedback);
  };
  dialog.showModal();
}

function replyActions(text, attachment, feedback) {
  return el("div", { class: "row row-end" },
    el("button", { type: "button", class: "btn btn-default btn-sm", on: { click: () => openEditor(text, attachment, feedback) } }, "编辑后发送"),
    el("button", { type: "button", class: "btn btn-primary btn-sm send", on: { click: () => sendReply(text, attachment, feedback) } }, "发送"));
}

// ------------------------------------------------------------------ suggestions

function ruleHits(hits, where) {
  for (const hit of hits || []) {
    const lines = [el("b", {}, `命中规则「${hit.name}」`), `（关键词：${hit.phrase}）`];
    if (hit.caution) lines.push(el("div", { class: "caution-text" }, hit.caution));
    if (hit.tags && hit.tags.length) lines.push(el("div", { class: "muted" }, "自动标签：" + hit.tags.join("、")));
    where.append(el("div", { class: hit.special_care ? "rule-hit is-care" : "rule-hit" }, lines));
  }
}

function suggestions(list, question, where, weak) {
  if (!list || !list.length) {
    where.append(el("p", { class: "muted low-note" }, "知识库里没有合适的回答，请人工回复或看下方话术。"));
    return;
  }
  if (weak) where.append(el("p", { class: "muted low-note" }, "匹配度较低，仅供参考："));
  for (const s of list) {
    const pct = Math.round((s.confidence || 0) * 100);
    const feedback = { entryId: s.entry_id, entryQuestion: s.question, question, where };
    const item = el("div", { class: "suggestion" },
      el("div", { class: "suggestion-hd" }, el("span", { class: "suggestion-q" }, s.question),
        el("span", { class: pct >= 60 ? "conf conf-high" : "conf" }, `${pct}%`)),
      el("div", { class: "suggestion-a" }, s.answer),
      s.attachment ? el("div", { class: "muted" }, `附件：${s.attachment.title || s.attachment.kind}`) : null,
      replyActions(s.answer, s.attachment, feedback));
    where.append(item);
  }
}

function showHelp(data, question, target) {
  target.replaceChildren();
  ruleHits(data.rule_hits, target);
  suggestions(data.suggestions, question, target, data.decision === "none");
}

async function ask(event) {
  event.preventDefault();
  const text = $("ask-text").value.trim();
  if (!text || !state.euid) return;
  await attempt(async () => {
    const data = await api("POST", `/customers/${encodeURIComponent(state.euid)}/ask`, { text });
    state.lastAsk = text;
    showHelp(data, text, $("ask-result"));
    loadQuickReplies();
    if (data.rule_hits && data.rule_hits.length) loadCustomer();
  });
}

function showLatest(message) {
  if (!message) { $("latest-card").hidden = true; return; }
  $("latest-card").hidden = false;
  $("latest-text").textContent = message.text;
  state.lastAsk = "";
  $("latest-meta").textContent = `${message.source === "kf" ? "微信客服" : "单聊"} · ${fmtTime(message.at)}`;
  showHelp(message, message.text, $("latest-result"));
  loadQuickReplies();
}

// ------------------------------------------------------------------ quick replies

let qrCategory = "";
let qrTimer = 0;
async function loadQuickReplies() {
  const params = new URLSearchParams({ q: $("qr-search").value.trim(), category: qrCategory });
  const latest = state.lastAsk || ($("latest-card").hidden ? "" : $("latest-text").textContent);
  if (latest) params.set("context", latest.slice(0, 500));
  const data = await attempt(() => api("GET", "/quick-replies?" + params));
  if (!data) return;
  const cats = [el("button", { type: "button", class: qrCategory ? "chip" : "chip is-active", data: { cat: "" } }, "全部")];
  for (const c of data.categories) cats.push(el("button", { type: "button", class: c === qrCategory ? "chip is-active" : "chip", data: { cat: c } }, c));
  $("qr-cats").replaceChildren(...cats);
  const items = data.items.map((r) => el("li", { class: "qr" },
    el("div", { class: "qr-title" }, r.title, r.shortcut ? el("span", { class: "muted" }, " /" + r.shortcut.replace(/^\//, "")) : null),
    el("div", { class: "qr-content" }, r.content),
    replyActions(r.content, null, null)));
  $("qr-list").replaceChildren(...(items.length ? items : [el("li", { class: "muted" }, "没有找到话术")]));
}

// ------------------------------------------------------------------ customer card

function renderCustomer(data) {
  const c = data.customer;
  $("c-name").textContent = c.remark ? `${c.remark}（${c.name}）` : c.name || c.external_userid;
  $("c-meta").textContent = [c.corp_name, c.type, c.channel ? "来源：" + c.channel : ""].filter(Boolean).join(" · ");
  const photo = /^https:\/\//.test(c.avatar || "");
  if (photo) $("c-avatar").src = c.avatar;
  $("c-avatar").hidden = !photo;
  $("c-avatar-ph").hidden = photo;
  $("c-avatar-ph").textContent = (c.name || "客").slice(0, 1);
  $("c-care").hidden = !c.special_care;
  $("c-caution").hidden = !c.caution;
  $("c-caution").textContent = c.caution ? "注意：" + c.caution : "";
  $("tags").replaceChildren(...(data.tags.length ? data.tags.map((t) => el("span", { class: "chip chip-tag", title: t.group_name },
    t.name, el("button", { type: "button", class: "chip-x", "aria-label": "移除标签 " + t.name, on: { click: () => changeTags([], [t.name]) } }, "×")))
    : [el("span", { class: "muted" }, "还没有标签")]));
  $("followups").replaceChildren(...data.followups.map((f) => el("li", { class: f.done_at ? "is-done" : f.overdue ? "is-overdue" : "" },
    el("div", {}, f.note),
    el("div", { class: "row" }, el("span", { class: "muted" }, f.done_at ? "已完成 " + fmtTime(f.done_at) : f.due_at ? `到期 ${fmtTime(f.due_at)}${f.overdue ? "（已逾期）" : ""}` : "无到期时间"),
      f.done_at ? null : el("button", { type: "button", class: "link", on: { click: () => doneFollowup(f.id) } }, "完成")))));
  $("notes").replaceChildren(...data.notes.map((n) => el("li", {}, el("div", {}, n.text), el("div", { class: "muted" }, `${n.author || n.userid} · ${fmtTime(n.at)}`))));
  $("escalations").replaceChildren(...data.escalations.map((e) => el("li", {}, el("div", {}, e.reason),
    el("div", { class: "muted" }, `${e.status === "open" ? "处理中" : "已处理"} · ${fmtTime(e.at)}`))));
  $("customer").hidden = false;
}

async function loadCustomer() {
  const data = await api("GET", `/customers/${encodeURIComponent(state.euid)}`);
  renderCustomer(data);
  return data;
}

async function changeTags(add, remove) {
  await attempt(async () => {
    const res = await api("POST", `/customers/${encodeURIComponent(state.euid)}/tags`, { add, remove });
    toast(res.added.length ? "已添加标签" : res.removed.length ? "已移除标签" : "没有变化");
    await loadCustomer();
  });
}

async function toggleTagLibrary() {
  const box = $("tag-library");
  state.tagsOpen = !state.tagsOpen;
  box.hidden = !state.tagsOpen;
  if (!state.tagsOpen) return;
  const data = await attempt(() => api("GET", "/tags"));
  if (!data) return;
  const groups = data.groups.map((g) => el("div", { class: "tag-group" }, el("div", { class: "muted" }, g.group_name),
    el("div", { class: "chips" }, g.tags.map((t) => el("button", { type: "button", class: "chip", data: { tag: t.name }, on: { click: () => changeTags([t.name], []) } }, t.name)))));
  box.replaceChildren(...(groups.length ? groups : [el("p", { class: "muted" }, "企业还没有客户标签")]));
}

async function doneFollowup(id) {
  await attempt(async () => { await api("POST", `/followups/${id}/done`, {}); toast("已完成"); await loadCustomer(); });
}

function formAction(formId, build, path, message) {
  $(formId).addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(async () => {
      const body = build();
      await api("POST", `/customers/${encodeURIComponent(state.euid)}/${path}`, body);
      event.target.reset();
      toast(message);
      await loadCustomer();
    });
  });
}

// ------------------------------------------------------------------ live updates

function listen() {
  if (state.events) state.events.close();
  const source = new EventSource(`/sidebar/api/customers/${encodeURIComponent(state.euid)}/events`);
  source.addEventListener("customer_message", (event) => {
    const data = JSON.parse(event.data);
    if (data.source !== "sidebar") showLatest(data);
    loadCustomer().catch(() => {});
  });
  state.events = source;
}

// ------------------------------------------------------------------ start-up

async function openCustomer(euid) {
  state.euid = euid;
  state.lastAsk = "";
  $("ask-text").value = "";
  $("ask-result").replaceChildren();
  for (const chip of $("group-members").querySelectorAll("[data-euid]")) {
    chip.classList.toggle("is-active", chip.dataset.euid === euid);
  }
  await loadCustomer();
  $("tabs").hidden = false;
  $("pane-reply").hidden = false;
  const latest = await api("GET", `/customers/${encodeURIComponent(euid)}/latest`);
  showLatest(latest.message);
  if (!latest.message) loadQuickReplies();
  listen();
}

async function openGroup(chatId) {
  const data = await api("GET", `/groups/${encodeURIComponent(chatId)}`);
  $("group-name").textContent = data.group.name;
  $("group-meta").textContent = ` · ${data.group.member_count} 人`;
  const members = data.customers.map((m) => el("button", {
    type: "button", class: m.accessible ? "chip" : "chip is-disabled", disabled: m.accessible ? undefined : "",
    title: m.accessible ? "查看客户" : "不是你的客户",
    data: { euid: m.external_userid },
    on: { click: () => m.accessible && attempt(() => openCustomer(m.external_userid)) },
  }, m.name || m.group_nickname || "客户", m.special_care ? " ⚠" : ""));
  $("group-members").replaceChildren(...(members.length ? members : [el("span", { class: "muted" }, "群里没有客户")]));
  $("group").hidden = false;
  const first = data.customers.find((m) => m.accessible);
  if (first) await openCustomer(first.external_userid);
  else { $("tabs").hidden = false; $("pane-reply").hidden = false; loadQuickReplies(); }
}

function wire() {
  $("ask-form").addEventListener("submit", ask);
  $("tag-toggle").addEventListener("click", toggleTagLibrary);
  $("qr-search").addEventListener("input", () => { clearTimeout(qrTimer); qrTimer = setTimeout(loadQuickReplies, 200); });
  $("qr-cats").addEventListener("click", (event) => {
    const chip = event.target.closest("[data-cat]");
    if (chip) { qrCategory = chip.dataset.cat; loadQuickReplies(); }
  });
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll(".tab")) other.classList.toggle("is-active", other === tab);
      $("pane-reply").hidden = tab.dataset.tab !== "reply";
      $("pane-profile").hidden = tab.dataset.tab !== "profile";
    });
  }
  formAction("note-form", () => ({ text: $("note-text").value }), "notes", "备注已保存");
  formAction("escalate-form", () => ({ reason: $("escalate-reason").value }), "escalations", "已升级给主管");
  formAction("followup-form", () => {
    const due = $("followup-due").value;
    return { note: $("followup-text").value, due_at: due ? new Date(due).toISOString() : null };
  }, "followups", "跟进已添加");
}

async function start() {
  wire();
  try {
    await initSdk();
    const ctx = await invoke("getContext");
    state.entry = ctx.entry;
    if (ctx.entry === "group_chat_tools") {
      state.chatId = (await invoke("getCurExternalChat")).chatId;
      await openGroup(state.chatId);
    } else if (["single_chat_tools", "single_kf_tools", "contact_profile"].includes(ctx.entry)) {
      const contact = await invoke("getCurExternalContact").catch(() => null);
      if (contact) await openCustomer(contact.userId);
      else notice("没有拿到当前客户：请在与客户的聊天窗口中打开侧边栏。");
    } else {
      notice("请在与客户的单聊或客户群的聊天工具栏中打开本页。");
    }
  } catch (err) {
    if (!(err instanceof ApiError && err.message === "登录已过期")) notice(err.message || "出错了，请稍后再试");
  } finally {
    $("loading").hidden = true;
  }
}

window.addEventListener("offline", () => notice("网络已断开，恢复后会自动重连。"));
window.addEventListener("online", () => { $("notice").hidden = true; });
start();
