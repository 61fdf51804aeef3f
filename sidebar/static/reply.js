// Reply help: sending (sendChatMessage), the editor, feedback, suggestions and quick replies.
// Every piece of data is put on the page with textContent, never innerHTML.
import { $, SdkError, api, attempt, busy, el, fmtTime, invoke, state, toast } from "./core.js";
import { loadCustomer } from "./profile.js";

// Matches under this confidence are noise next to a real answer; they are not shown.

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

function sendError(err) {
  const why = err instanceof SdkError ? (err.message.split("：").pop() || "") : "";
  if (/cancel/i.test(why)) return "已取消发送";
  return `发送失败${why ? "（" + why + "）" : ""}，请确认客户聊天窗口仍然打开后再试`;
}

// One send at a time across the page: a second tap while WeCom is busy sends nothing.
async function sendReply(text, attachment, feedback) {
  const extra = attachmentMessage(attachment);
  if (!text && !extra) { toast("内容为空，没有发送"); return; }
  if (state.sending) return;
  state.sending = true;
  try {
    if (text) await sendChat("text", { content: text });
    if (extra) await sendChat(extra[0], extra[1]);
  } catch (err) {
    toast(sendError(err));
    return;
  } finally {
    state.sending = false;
  }
  toast("已发送");
  if (feedback && feedback.messageId && feedback.entryId) offerFeedback(feedback);
}

// What the server said about the rep's pick: it is a proposal until accepted.
function proposalText(p) {
  if (p.status === "accepted") return "已记录，知识库已更新";
  if (p.status === "rejected") return "主管已驳回过这个问法";
  if (p.status === "undone") return "这个问法已被撤销，不再记录";
  return `已提交，等待主管审核（${p.reps}/${p.quorum} 位客服选了同一个答案后自动采纳）`;
}

function offerFeedback({ entryId, entryQuestion, question, messageId, where }) {
  for (const old of where.querySelectorAll(".feedback")) old.remove();
  const box = el("div", { class: "feedback", role: "group", "aria-label": "记录相似问法" },
    el("span", {}, "把「", question, "」记为「", entryQuestion, "」的相似问法？"));
  const yes = el("button", { type: "button", class: "btn btn-primary btn-sm" }, "记录");
  const no = el("button", { type: "button", class: "btn btn-default btn-sm" }, "不用");
  yes.addEventListener("click", () => busy(yes, async () => {
    const res = await api("POST", "/feedback", { entry_id: entryId, message_id: messageId });
    box.replaceChildren(el("span", { class: "muted", role: "status" }, proposalText(res.proposal)));
  }));
  no.addEventListener("click", () => box.remove());
  box.append(el("div", { class: "row row-end" }, no, yes));
  where.prepend(box);
}

function openEditor(text, attachment, feedback) {
  const dialog = $("editor");
  const area = $("editor-text");
  area.value = text;
  $("editor-send").disabled = !text.trim();
  const extra = attachment && attachmentMessage(attachment);
  $("editor-attachment").hidden = !extra;
  $("editor-attachment").textContent = extra ? `另附：${attachment.title || attachment.kind}` : "";
  // returnValue survives from the last close: without this, Esc after a send would send again.
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue === "send") sendReply(area.value.trim(), attachment, feedback);
  };
  dialog.showModal();
  area.focus();
}

function replyActions(text, attachment, feedback) {
  const send = el("button", { type: "button", class: "btn btn-primary btn-sm send" }, "发送");
  send.addEventListener("click", () => busy(send, () => sendReply(text, attachment, feedback)));
  return el("div", { class: "row row-end" },
    el("button", { type: "button", class: "btn btn-default btn-sm", on: { click: () => openEditor(text, attachment, feedback) } }, "编辑后发送"),
    send);
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

// Other reps' picks of this answer for this wording: a hint only, the bot does not use them.
function pickHint(p) {
  if (!p) return null;
  const text = p.status === "accepted" ? "已采纳为相似问法" : `${p.reps} 位客服选过这个回答（待审核）`;
  return el("div", { class: "muted pick-hint" }, text);
}

// weak: the top match is under the KB's suggestion floor; nothing is offered for recording then.
// `searched`: the rep's own search results. Their 匹配 % would rate the rep's keywords, not
// the customer's message, so none is shown.
function suggestions(list, question, messageId, where, weak, searched = false) {
  const shown = list || [];  // the matcher already dropped the noise (matcher.SHOWN_FLOOR)
  if (!shown.length) {
    where.append(el("p", { class: "muted low-note" }, "知识库里没有合适的回答，请人工回复或看下方话术库。"));
    return;
  }
  if (weak) where.append(el("p", { class: "muted low-note" }, "匹配度较低，仅供参考："));
  for (const s of shown) {
    const pct = Math.round((s.confidence || 0) * 100);
    const feedback = weak ? null : { entryId: s.entry_id, entryQuestion: s.question, question, messageId, where };
    const item = el("article", { class: "suggestion" },
      el("div", { class: "suggestion-hd" }, el("span", { class: "suggestion-q" }, s.question),
        searched ? null : el("span", { class: pct >= 60 ? "conf conf-high" : "conf", title: "匹配度" }, `匹配 ${pct}%`)),
      pickHint(s.proposal),
      el("div", { class: "suggestion-a" }, s.answer),
      s.attachment ? el("div", { class: "muted" }, `附件：${s.attachment.title || s.attachment.kind}`) : null,
      replyActions(s.answer, s.attachment, feedback));
    where.append(item);
  }
}

// What became of the bot's kf answer, as the server read it from the answer's delivery (never
// from the matcher's decision: a handover sends nothing).
function replyStatus(data) {
  const status = data.reply_status;
  if (status === "sent") return el("p", { class: "auto-note" }, "机器人已自动回复，一般无需再发。");
  if (status === "sending") return el("p", { class: "reply-status" }, "机器人正在发送自动回复…");
  if (status === "failed") return el("p", { class: "reply-status is-warn" }, "机器人的自动回复未送达，请人工回复客户。");
  if (status === "handed_over") {
    const note = el("p", { class: "reply-status is-warn", data: { since: data.at } });
    note.textContent = waitingText(data.at);
    return note;
  }
  return null;
}

function waitingText(since) {
  const minutes = Math.max(0, Math.floor((Date.now() - new Date(since).getTime()) / 60000));
  return `已转人工，客户已等待 ${minutes} 分钟`;
}

// The customer keeps waiting while the page is open: the minutes count on.
setInterval(() => {
  for (const note of document.querySelectorAll(".reply-status[data-since]")) {
    note.textContent = waitingText(note.dataset.since);
  }
}, 30000);

function showHelp(data, question, messageId, target) {
  target.replaceChildren();
  ruleHits(data.rule_hits, target);
  const status = replyStatus(data);
  if (status) target.append(status);
  suggestions(data.suggestions, question, messageId, target, data.decision === "none");
  if (messageId) target.append(kbSearch(question, messageId));
}

// The rep's own KB search for this message: the server remembers what it showed them, so a
// result they answer with may be recorded as this wording's similar question.
function kbSearch(question, messageId) {
  const input = el("input", { type: "search", class: "form-control input-sm", maxlength: "50",
    placeholder: "推荐不对？搜索知识库", "aria-label": "搜索知识库" });
  const go = el("button", { type: "submit", class: "btn btn-default btn-sm" }, "搜索");
  const results = el("div", { class: "kb-search-results" });
  const form = el("form", { class: "kb-search", role: "search" }, input, go);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (!q) { toast("请输入要搜索的关键词"); input.focus(); return; }
    busy(go, async () => {
      const params = new URLSearchParams({ q, message_id: String(messageId) });
      const data = await api("GET", `/kb/search?${params}`);
      results.replaceChildren();
      if (!data.items.length) {
        results.append(el("p", { class: "muted low-note" }, "没有找到相关答案，换个关键词试试"));
        return;
      }
      suggestions(data.items, question, messageId, results, false, true);
    });
  });
  return el("div", { class: "kb-search-box" }, form, results);
}

export async function ask(event) {
  event.preventDefault();
  const text = $("ask-text").value.trim();
  if (!text) { toast("请先输入客户说的话"); $("ask-text").focus(); return; }
  if (!state.euid) return;
  await busy($("ask-submit"), async () => {
    const data = await api("POST", `/customers/${encodeURIComponent(state.euid)}/ask`, { text });
    state.lastAsk = text;
    showHelp(data, text, data.message_id, $("ask-result"));
    loadQuickReplies();
    if (data.rule_hits && data.rule_hits.length) await loadCustomer();
  });
}

// While the bot's answer is on its way, the latest message is re-read until it lands.
let statusTimer = 0;
const STATUS_POLL_MS = 1500;

export function showLatest(message) {
  clearTimeout(statusTimer);
  if (!message) { $("latest-card").hidden = true; return; }
  $("latest-card").hidden = false;
  $("latest-text").textContent = message.text;
  state.lastAsk = "";
  $("latest-meta").textContent = `${message.source === "kf" ? "微信客服" : "单聊"} · ${fmtTime(message.at)}`;
  showHelp(message, message.text, message.id || message.message_id, $("latest-result"));
  loadQuickReplies();
  if (message.reply_status === "sending") {
    statusTimer = setTimeout(() => attempt(loadLatest), STATUS_POLL_MS);
  }
}

export async function loadLatest() {
  const euid = state.euid;
  const latest = await api("GET", `/customers/${encodeURIComponent(euid)}/latest`);
  if (euid === state.euid) showLatest(latest.message);
  return latest.message;
}

// ------------------------------------------------------------------ quick replies

let qrCategory = "";
let qrTimer = 0;
let qrSeq = 0;
export async function loadQuickReplies() {
  const seq = ++qrSeq;
  const params = new URLSearchParams({ q: $("qr-search").value.trim(), category: qrCategory });
  const latest = state.lastAsk || ($("latest-card").hidden ? "" : $("latest-text").textContent);
  if (latest) params.set("context", latest.slice(0, 500));
  $("qr-list").setAttribute("aria-busy", "true");
  const data = await attempt(() => api("GET", "/quick-replies?" + params));
  if (seq !== qrSeq) return; // a newer search is on its way; drop this stale answer
  $("qr-list").removeAttribute("aria-busy");
  if (!data) return;
  const chip = (cat, label) => el("button", { type: "button", class: cat === qrCategory ? "chip is-active" : "chip",
    "aria-pressed": String(cat === qrCategory), data: { cat } }, label);
  $("qr-cats").replaceChildren(chip("", "全部"), ...data.categories.map((c) => chip(c, c)));
  const items = data.items.map((r) => el("li", { class: "qr" },
    el("div", { class: "qr-title" }, r.title, r.shortcut ? el("span", { class: "muted" }, " /" + r.shortcut.replace(/^\//, "")) : null),
    el("div", { class: "qr-content" }, r.content),
    replyActions(r.content, null, null)));
  const empty = $("qr-search").value.trim() ? "没有找到相关话术，换个关键词试试" : "这个分类下还没有话术";
  $("qr-list").replaceChildren(...(items.length ? items : [el("li", { class: "muted empty" }, empty)]));
}

export function wireReply() {
  $("ask-form").addEventListener("submit", ask);
  $("qr-search").addEventListener("input", () => { clearTimeout(qrTimer); qrTimer = setTimeout(loadQuickReplies, 200); });
  $("qr-cats").addEventListener("click", (event) => {
    const chip = event.target.closest("[data-cat]");
    if (chip) { qrCategory = chip.dataset.cat; loadQuickReplies(); }
  });
  $("editor-text").addEventListener("input", () => { $("editor-send").disabled = !$("editor-text").value.trim(); });
}
