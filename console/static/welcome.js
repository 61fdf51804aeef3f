// Welcome template form: a live preview rendered by the server (the welcome's own function).
"use strict";

(function () {
  const form = document.getElementById("template-form");
  const box = document.getElementById("live-preview");
  const error = document.getElementById("preview-error");
  if (!form || !box) return;
  let timer = null;

  function field(name) {
    const el = form.elements.namedItem(name);
    return el ? el.value : "";
  }

  function show(data) {
    box.replaceChildren();
    const text = document.createElement("div");
    text.className = "preview";
    text.setAttribute("data-preview", "");
    text.textContent = data.text;
    box.appendChild(text);
    for (const att of data.attachments || []) {
      const item = document.createElement("div");
      item.className = "preview-att";
      const body = att[att.msgtype] || {};
      const label = { link: "🔗 ", image: "🖼 图片 ", miniprogram: "🧩 小程序 " }[att.msgtype] || "";
      item.textContent = label + (body.title || body.pic_url || body.media_id || "") +
        (body.url ? "  " + body.url : "");
      box.appendChild(item);
    }
  }

  async function refresh() {
    try {
      const data = await Console.post("/console/welcome/preview", {
        text: field("text"), attachments: field("attachments"),
        scope: field("scope"), target: field("target"),
      });
      error.hidden = true;
      show(data);
    } catch (exc) {
      error.textContent = exc.message;
      error.hidden = false;
    }
  }

  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
  form.addEventListener("change", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 50);
  });
})();
