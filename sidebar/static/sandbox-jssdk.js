// SANDBOX ONLY: a stand-in for WeCom's JS-SDK (wx.config / agentConfig / invoke).
// The context comes from the page URL (?sbx_entry=&sbx_contact=&sbx_chat=), set by /sidebar/sandbox.
// Signatures are checked by the server like WeCom's client would; sendChatMessage is recorded
// in window.__sandboxSent and shown in the simulator's chat.
(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const ctx = {
    entry: params.get("sbx_entry") || "single_chat_tools",
    contact: params.get("sbx_contact") || "",
    chat: params.get("sbx_chat") || "",
  };
  const sent = [];
  const ready = [];
  const errors = [];
  let configured = null;

  async function check(kind, cfg) {
    const url = location.href.split("#")[0];
    const resp = await fetch("/sidebar/sandbox/api/jssdk-check", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ kind, url, nonceStr: cfg.nonceStr, timestamp: cfg.timestamp, signature: cfg.signature }),
    });
    return resp.json();
  }

  function reply(cb, name, ok, extra) {
    setTimeout(() => cb(Object.assign({ err_msg: `${name}:${ok ? "ok" : "fail"}` }, extra || {})), 0);
  }

  const single = ["single_chat_tools", "single_kf_tools", "contact_profile"];
  window.__sandboxSent = sent;
  window.wx = {
    sandbox: true,
    config(cfg) {
      check("config", cfg).then((res) => {
        configured = res.ok;
        (res.ok ? ready : errors).forEach((fn) => fn(res.ok ? undefined : { errMsg: res.errMsg }));
      });
    },
    ready(fn) { if (configured === true) fn(); else ready.push(fn); },
    error(fn) { if (configured === false) fn({ errMsg: "config:invalid signature" }); else errors.push(fn); },
    agentConfig(cfg) {
      check("agent", cfg).then((res) => (res.ok ? cfg.success : cfg.fail)({ errMsg: res.errMsg }));
    },
    invoke(name, args, cb) {
      if (name === "getContext") return reply(cb, name, true, { entry: ctx.entry });
      if (name === "getCurExternalContact") {
        return reply(cb, name, single.includes(ctx.entry) && !!ctx.contact, { userId: ctx.contact });
      }
      if (name === "getCurExternalChat") {
        return reply(cb, name, ctx.entry === "group_chat_tools" && !!ctx.chat, { chatId: ctx.chat });
      }
      if (name === "sendChatMessage") {
        const message = { ...args, to: ctx.contact || ctx.chat, at: new Date().toISOString() };
        sent.push(message);
        if (window.parent !== window) window.parent.postMessage({ sandboxSent: message }, location.origin);
        return reply(cb, name, true);
      }
      return reply(cb, name, false);
    },
  };
})();
