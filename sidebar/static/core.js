// Sidebar core: boot data, DOM helpers, the JSON API client and the JS-SDK handshake.
// Every piece of data is put on the page with textContent, never innerHTML.
export const boot = JSON.parse(document.getElementById("boot").textContent);
export const $ = (id) => document.getElementById(id);
export const state = { euid: "", entry: "", chatId: "", lastAsk: "", events: null, tagsOpen: false };

export class ApiError extends Error {}
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

export function notice(message, action) {
  const box = $("notice");
  box.replaceChildren(el("span", {}, message));
  if (action) box.append(" ", el("a", { class: "btn btn-primary btn-sm", href: action.href }, action.label));
  box.hidden = false;
}

let toastTimer = 0;
export function toast(message) {
  const box = $("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 2500);
}

export function expired() {
  notice("登录已过期，请重新登录。", { href: boot.login, label: "重新登录" });
  throw new ApiError("登录已过期");
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
  if (!resp.ok) throw new ApiError(data.message || `请求失败（${resp.status}）`);
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

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const year = d.getFullYear() === new Date().getFullYear() ? "" : `${d.getFullYear()}-`;
  return `${year}${d.getMonth() + 1}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
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
  const hint = "请检查应用的可信域名和签名";
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
