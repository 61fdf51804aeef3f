// WeCom Sidekick sidebar: JS-SDK context -> customer card, reply help, actions.
// Every piece of data is put on the page with textContent, never innerHTML.
import {
  $, ApiError, api, attempt, clearNotice, el, initSdk, invoke, notice, state,
} from "./core.js";
import { loadCustomer, wireProfile } from "./profile.js";
import { loadLatest, loadQuickReplies, showLatest, wireReply } from "./reply.js";
import { wireLifecycle } from "./lifecycle.js";

// ------------------------------------------------------------------ live updates

function listen() {
  if (state.events) state.events.close();
  const euid = state.euid;
  const source = new EventSource(`/sidebar/api/customers/${encodeURIComponent(euid)}/events`);
  let dropped = false;
  source.addEventListener("customer_message", (event) => {
    const data = JSON.parse(event.data);
    if (data.source !== "sidebar") showLatest(data);
    loadCustomer().catch(() => {});
  });
  source.addEventListener("open", () => {
    // Messages that arrived while the stream was down are not replayed: fetch the latest.
    if (dropped) { dropped = false; attempt(async () => { await loadLatest(); await loadCustomer(); }); }
  });
  source.addEventListener("error", () => {
    dropped = true;
    // The server refused the stream (an HTTP error, e.g. the session expired): find out why.
    if (source.readyState === EventSource.CLOSED) loadCustomer().catch(() => {});
  });
  state.events = source;
}

// ------------------------------------------------------------------ start-up

function showPanes() {
  $("tabs").hidden = false;
  $("pane-reply").hidden = $("tab-reply").getAttribute("aria-selected") !== "true";
  $("pane-profile").hidden = !$("pane-reply").hidden;
}

async function openCustomer(euid) {
  state.euid = euid;
  state.lastAsk = "";
  $("ask-text").value = "";
  $("ask-result").replaceChildren();
  for (const chip of $("group-members").querySelectorAll("[data-euid]")) {
    const on = chip.dataset.euid === euid;
    chip.classList.toggle("is-active", on);
    chip.setAttribute("aria-pressed", String(on));
  }
  await loadCustomer();
  showPanes();
  const latest = await loadLatest();
  if (!latest) loadQuickReplies();
  listen();
}

async function openGroup(chatId) {
  const data = await api("GET", `/groups/${encodeURIComponent(chatId)}`);
  $("group-name").textContent = data.group.name;
  $("group-meta").textContent = `${data.group.member_count} 人 · ${data.customers.length} 位客户`;
  const members = data.customers.map((m) => {
    const name = m.name || m.group_nickname || "客户";
    return el("button", {
      type: "button", class: m.accessible ? "chip" : "chip is-disabled", disabled: m.accessible ? undefined : "",
      "aria-pressed": "false", "aria-label": `${name}${m.special_care ? "（特别关注）" : ""}${m.accessible ? "" : "（其他同事的客户）"}`,
      data: { euid: m.external_userid },
      on: { click: () => m.accessible && attempt(() => openCustomer(m.external_userid)) },
    }, name, m.special_care ? " ⚠" : "");
  });
  $("group-members").replaceChildren(...(members.length ? members : [el("span", { class: "muted" }, "群里还没有客户")]));
  $("group-hint").hidden = !data.customers.some((m) => !m.accessible);
  $("group").hidden = false;
  const first = data.customers.find((m) => m.accessible);
  if (first) await openCustomer(first.external_userid);
  else { showPanes(); loadQuickReplies(); }
}

function selectTab(tab) {
  for (const other of document.querySelectorAll("[role=tab]")) {
    const on = other === tab;
    other.classList.toggle("is-active", on);
    other.setAttribute("aria-selected", String(on));
    other.tabIndex = on ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !on;
  }
}

function wire() {
  wireReply();
  wireProfile();
  wireLifecycle();
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) tab.addEventListener("click", () => selectTab(tab));
  $("tabs").addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = tabs[(tabs.indexOf(document.activeElement) + step + tabs.length) % tabs.length];
    selectTab(next);
    next.focus();
  });
}

const reload = { label: "重新加载", onClick: () => location.reload() };

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
    if (err instanceof ApiError && err.status === 401) return; // expired() offers 重新登录
    // Reloading cannot change a refusal (这不是你的客户) or a missing customer: no button then.
    const refused = err instanceof ApiError && err.status >= 400 && err.status < 500;
    notice(err.message || "出错了，请稍后再试", refused ? null : reload, "start");
  } finally {
    $("loading").hidden = true;
  }
}

window.addEventListener("offline", () => notice("网络已断开，恢复后会自动刷新。", null, "offline"));
window.addEventListener("online", () => {
  clearNotice("offline");
  if (state.euid) attempt(async () => { await loadCustomer(); await loadLatest(); listen(); });
});
start();
