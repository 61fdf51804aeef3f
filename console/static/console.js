// The console's own script (no build step): CSRF for fetch, filter forms that submit on change.
"use strict";

(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');

  /** POST JSON to the console with this session's CSRF token; JSON back. */
  async function post(url, body) {
    const headers = { "X-CSRF-Token": meta ? meta.content : "", Accept: "application/json",
      "Content-Type": "application/json" };
    const payload = JSON.stringify(body || {});
    const resp = await fetch(url, { method: "POST", headers, body: payload, credentials: "same-origin" });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.message || "操作失败（HTTP " + resp.status + "）");
    return data;
  }

  /** The JSON a page hands its script in <script type="application/json" id="...">. */
  function data(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  window.Console = { post, data };

  document.addEventListener("change", (event) => {
    const form = event.target.closest && event.target.closest("form[data-autosubmit]");
    if (form && event.target.tagName === "SELECT") form.submit();
  });
})();
