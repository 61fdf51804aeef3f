// Sidebar core: boot data, DOM helpers, the JSON API client and the JS-SDK handshake.
// Every piece of data is put on the page with textContent, never innerHTML.
export const boot = JSON.parse(document.getElementById("boot").textContent);
export const $ = (id) => document.getElementById(id);
export const state = {
  euid: "", entry: "", chatId: "", lastAsk: "", events: null, tagsOpen: false, tagNames: new Set(), sending: false,
  tagGroups: null, canCreateTags: false, tagForm: null,
};

// status: the HTTP status (0 when the network failed), so callers know whether a retry helps.
export class ApiError extends Error {
  constructor(message, status = 0) { super(message); this.status = status; }
}
export class SdkError extends Error {}

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else if (key === "data") Object.assign(node.dataset, value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

// A sentence on top of the page; `kind` lets a later event clear only its own notice.
export function notice(message, action, kind = "") {
  const box = $("notice");
  box.replaceChildren(el("span", {}, message));
  if (action) {
    const props = { class: "btn btn-primary btn-sm" };
    const link = action.href ? el("a", { ...props, href: action.href }, action.label)
      : el("button", { ...props, type: "button", on: { click: action.onClick } }, action.label);
    box.append(" ", link);
  }
  box.dataset.kind = kind;
  box.hidden = false;
}

export function clearNotice(kind) {
  if ($("notice").dataset.kind === kind) $("notice").hidden = true;
}

// The toast stays in the accessibility tree (an aria-live region), only its text changes.
let toastTimer = 0;
export function toast(message) {
  const box = $("toast");
  box.textContent = message;
  box.classList.add("is-shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.classList.remove("is-shown"); box.textContent = ""; }, 2500);
}

// Run fn with the button disabled (no double submits) and marked busy; errors become toasts.
export async function busy(button, fn) {
  if (button && button.disabled) return undefined;
  if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
  try {
    return await attempt(fn);
  } finally {
    if (button) { button.disabled = false; button.removeAttribute("aria-busy"); }
  }
}

export function expired() {
  notice("登录已过期，请重新登录。", { href: boot.login, label: "重新登录" }, "expired");
  throw new ApiError("登录已过期", 401);
}

export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET") init.headers["X-CSRF-Token"] = boot.csrf;
  let resp;
  try {
    resp = await fetch("/sidebar/api" + path, init);
  } catch {
    throw new ApiError("网络连接失败，请检查网络后重试");
  }
  if (resp.status === 401) expired();
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new ApiError(data.message || `请求失败（${resp.status}）`, resp.status);
  return data;
}

// Run an action; show its error as a toast instead of failing silently.
export async function attempt(fn) {
  try {
    return await fn();
  } catch (err) {
    toast(err.message || "出错了，请稍后再试");
    return undefined;
  }
}

// Times are shown in the business timezone, the one "明天10点" was read in (not the phone's).
const zone = boot.timezone || undefined;
const clock = new Intl.DateTimeFormat("zh-CN", {
  timeZone: zone, year: "numeric", month: "numeric", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});
export function fmtTime(iso) {
  if (!iso) return "";
  const part = (parts, type) => (parts.find((p) => p.type === type) || {}).value;
  const at = clock.formatToParts(new Date(iso));
  const year = part(at, "year") === part(clock.formatToParts(new Date()), "year") ? "" : `${part(at, "year")}-`;
  return `${year}${part(at, "month")}-${part(at, "day")} ${part(at, "hour")}:${part(at, "minute")}`;
}

// ------------------------------------------------------------------ JS-SDK

export function invoke(name, args = {}) {
  return new Promise((resolve, reject) => {
    window.wx.invoke(name, args, (res) => {
      if (res && res.err_msg === `${name}:ok`) resolve(res);
      else reject(new SdkError(`${name} 失败：${(res && res.err_msg) || "无响应"}`));
    });
  });
}

export async function initSdk() {
  if (!window.wx) throw new SdkError("没有加载企业微信 JS-SDK：请在企业微信的聊天工具栏中打开本页");
  const sig = await api("GET", "/jssdk?url=" + encodeURIComponent(location.href.split("#")[0]));
  const hint = "请联系管理员检查应用的可信域名和签名";
  await new Promise((resolve, reject) => {
    window.wx.config({ ...sig.config, debug: false });
    window.wx.ready(resolve);
    window.wx.error((res) => reject(new SdkError(`JS-SDK 初始化失败（${res.errMsg || "config"}），${hint}`)));
  });
  await new Promise((resolve, reject) => {
    window.wx.agentConfig({
      ...sig.agentConfig,
      success: resolve,
      fail: (res) => reject(new SdkError(`应用身份校验失败（${(res && res.errMsg) || "agentConfig"}），${hint}`)),
    });
  });
}
