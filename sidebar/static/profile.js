// The customer card and 客户资料: tags, follow-ups, notes, escalations.
// Every piece of data is put on the page with textContent, never innerHTML.
import { $, api, attempt, busy, el, fmtTime, state, toast } from "./core.js";
import { refreshLifecycle } from "./lifecycle.js";

const customerPath = (tail) => `/customers/${encodeURIComponent(state.euid)}/${tail}`;

function renderHeader(c) {
  $("c-name").textContent = c.remark && c.remark !== c.name ? `${c.remark}（${c.name}）` : c.name || c.remark || c.external_userid;
  $("c-meta").textContent = [c.corp_name, c.type, c.channel ? "来源：" + c.channel : ""].filter(Boolean).join(" · ");
  const photo = /^https:\/\//.test(c.avatar || "");
  if (photo) $("c-avatar").src = c.avatar;
  $("c-avatar").hidden = !photo;
  $("c-avatar-ph").hidden = photo;
  $("c-avatar-ph").textContent = Array.from(c.name || c.remark || "客")[0];
  $("c-care").hidden = !c.special_care;
  $("c-caution").hidden = !c.caution;
  $("c-caution").textContent = c.caution ? "注意：" + c.caution : "";
}

function renderTags(tags) {
  state.tagNames = new Set(tags.map((t) => t.name));
  $("tags").replaceChildren(...(tags.length ? tags.map((t) => el("span", { class: "chip chip-tag", title: t.group_name },
    t.name, el("button", { type: "button", class: "chip-x", "aria-label": "移除标签 " + t.name,
      on: { click: (event) => changeTags([], [t.name], event.currentTarget) } }, "×")))
    : [el("span", { class: "muted empty" }, "还没有标签，点「添加标签」从企业标签库选择")]));
  if (state.tagGroups) renderTagLibrary();
}

function followupItem(f) {
  const when = f.done_at ? "已完成 " + fmtTime(f.done_at)
    : f.due_at ? `到期 ${fmtTime(f.due_at)}${f.overdue ? "（已逾期）" : ""}` : "无到期时间";
  const done = f.done_at ? null : el("button", { type: "button", class: "btn btn-default btn-sm",
    "aria-label": "完成跟进：" + f.note, on: { click: (event) => doneFollowup(f.id, event.currentTarget) } }, "完成");
  return el("li", { class: f.done_at ? "is-done" : f.overdue ? "is-overdue" : "" },
    el("div", {}, f.note), el("div", { class: "row" }, el("span", { class: "muted" }, when), done));
}

function emptyItem(text) { return [el("li", { class: "muted empty" }, text)]; }

export function renderCustomer(data) {
  renderHeader(data.customer);
  renderTags(data.tags);
  const f = data.followups;
  $("followups").replaceChildren(...(f.length ? f.map(followupItem) : emptyItem("还没有跟进")));
  $("notes").replaceChildren(...(data.notes.length ? data.notes.map((n) => el("li", {}, el("div", {}, n.text),
    el("div", { class: "muted" }, `${n.author || n.userid} · ${fmtTime(n.at)}`))) : emptyItem("还没有备注")));
  $("escalations").replaceChildren(...data.escalations.map((e) => el("li", {}, el("div", {}, e.reason),
    el("div", { class: "muted" }, `${e.status === "open" ? "处理中" : "已处理"} · ${fmtTime(e.at)}`))));
  $("customer").hidden = false;
}

export async function loadCustomer() {
  const euid = state.euid;
  const data = await api("GET", `/customers/${encodeURIComponent(euid)}`);
  if (euid === state.euid) renderCustomer(data);
  refreshLifecycle(); // stage, SOP tasks and the timeline follow every change to the card
  return data;
}

async function changeTags(add, remove, button) {
  return busy(button, async () => {
    const res = await api("POST", customerPath("tags"), { add, remove });
    const made = res.created && res.created.length ? `（已新建「${res.created.join("、")}」）` : "";
    toast(res.added.length ? `已添加标签「${res.added.join("、")}」${made}` : res.removed.length ? `已移除标签「${res.removed.join("、")}」` : "没有变化");
    if (made) state.tagGroups = null; // the library grew: read it again when next opened
    await loadCustomer();
    return res;
  });
}

// Supervisors and admins may add a tag to the corp library (and to this customer) by name.
function newTagForm() {
  const input = el("input", { id: "tag-new", maxlength: "30", placeholder: "新标签名，例如：VIP", "aria-label": "新标签名", autocomplete: "off" });
  const form = el("form", { class: "row tag-new", id: "tag-new-form" }, input,
    el("button", { type: "submit", class: "btn btn-default btn-sm" }, "新建并添加"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    const res = await changeTags([name], [], form.querySelector("button"));
    if (res) { input.value = ""; await reloadTagLibrary(); }
  });
  return form;
}

// The corp library; tags the customer already has are pressed, and tapping one removes it.
function renderTagLibrary() {
  const groups = state.tagGroups.map((g) => el("div", { class: "tag-group", role: "group", "aria-label": g.group_name },
    el("div", { class: "muted" }, g.group_name),
    el("div", { class: "chips" }, g.tags.map((t) => {
      const on = state.tagNames.has(t.name);
      return el("button", { type: "button", class: on ? "chip is-active" : "chip", "aria-pressed": String(on), data: { tag: t.name },
        on: { click: (event) => changeTags(on ? [] : [t.name], on ? [t.name] : [], event.currentTarget) } }, on ? "✓ " + t.name : t.name);
    }))));
  const empty = el("p", { class: "muted" }, state.canCreateTags ? "企业还没有客户标签，可以在下面新建" : "企业还没有客户标签，请主管或管理员新建");
  // One form node, kept across re-renders (a live event must not wipe what is being typed).
  if (state.canCreateTags && !state.tagForm) state.tagForm = newTagForm();
  const hint = state.canCreateTags ? state.tagForm : el("p", { class: "muted hint-line" }, "没有合适的标签？请主管或管理员新建");
  $("tag-library").replaceChildren(...(groups.length ? groups : [empty]), hint);
}

async function reloadTagLibrary() {
  const data = await attempt(() => api("GET", "/tags"));
  if (!data) return;
  state.tagGroups = data.groups;
  state.canCreateTags = Boolean(data.can_create);
  renderTagLibrary();
}

async function toggleTagLibrary() {
  const toggle = $("tag-toggle");
  state.tagsOpen = !state.tagsOpen;
  toggle.setAttribute("aria-expanded", String(state.tagsOpen));
  toggle.textContent = state.tagsOpen ? "收起" : "＋ 添加标签";
  $("tag-library").hidden = !state.tagsOpen;
  if (!state.tagsOpen) return;
  if (!state.tagGroups) $("tag-library").replaceChildren(el("p", { class: "muted" }, "正在加载标签库…"));
  await reloadTagLibrary();
}

async function doneFollowup(id, button) {
  await busy(button, async () => { await api("POST", `/followups/${id}/done`, {}); toast("跟进已完成"); await loadCustomer(); });
}

function formAction(formId, build, path, message) {
  const form = $(formId);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form.querySelector("[type=submit]"), async () => {
      const res = await api("POST", customerPath(path), build());
      form.reset();
      toast(typeof message === "function" ? message(res) : message);
      await loadCustomer();
    });
  });
}

export function wireProfile() {
  $("tag-toggle").addEventListener("click", toggleTagLibrary);
  formAction("note-form", () => ({ text: $("note-text").value }), "notes", "备注已保存");
  formAction("escalate-form", () => ({ reason: $("escalate-reason").value }), "escalations", "已升级，主管会收到通知");
  formAction("followup-form", () => ({ note: $("followup-text").value, due_at: $("followup-due").value.trim() || null }),
    "followups", (res) => (res.followup.due_text ? `跟进已添加，${res.followup.due_text} 到期` : "跟进已添加"));
  $("due-presets").addEventListener("click", (event) => {
    const chip = event.target.closest("[data-due]");
    if (chip) { $("followup-due").value = chip.dataset.due; $("followup-due").focus(); }
  });
}
