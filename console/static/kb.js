// Knowledge pages: the proposals queue's "select all" box.
"use strict";

(function () {
  const all = document.getElementById("check-all");
  if (!all) return;
  all.addEventListener("change", () => {
    document.querySelectorAll('#proposal-table input[name="id"]').forEach((box) => {
      box.checked = all.checked;
    });
  });
})();

// Import, step 1: the file goes as the request body with the CSRF header; the server checks
// it and answers with its preview page (nothing is written yet), or every problem found.
(function () {
  const form = document.getElementById("import-form");
  if (!form) return;
  const failed = document.getElementById("import-error");
  const meta = document.querySelector('meta[name="csrf-token"]');
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.querySelector('input[type="file"]').files[0];
    failed.hidden = true;
    if (!file) return;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const resp = await fetch("/console/kb/import?name=" + encodeURIComponent(file.name), {
        method: "POST", body: file, credentials: "same-origin",
        headers: { "Content-Type": "application/octet-stream", Accept: "application/json",
                   "X-CSRF-Token": meta ? meta.content : "" },
      });
      const data = await resp.json().catch(() => ({}));
      if (resp.status === 413) throw new Error("文件太大：最多 20 MB，没有导入任何内容");
      if (!resp.ok || typeof data.url !== "string" || !data.url.startsWith("/console/kb/import?")) {
        throw new Error(data.message || "上传失败（HTTP " + resp.status + "）");
      }
      window.location.assign(data.url);
    } catch (err) {
      failed.textContent = err.message;
      failed.hidden = false;
      button.disabled = false;
    }
  });
})();

// Import, step 2: the confirm button says what the chosen mode does; one click only.
(function () {
  const form = document.getElementById("confirm-form");
  if (!form) return;
  const button = document.getElementById("confirm-import");
  const warning = document.getElementById("replace-warning");
  const label = () => {
    const mode = form.querySelector('input[name="mode"]:checked');
    const replacing = Boolean(mode && mode.value === "replace");
    button.textContent = button.dataset[replacing ? "replace" : "merge"];
    button.classList.toggle("btn-warn", replacing);
    button.classList.toggle("btn-primary", !replacing);
    // Red only when the removals would happen; otherwise it lists what stays untouched.
    if (warning) warning.classList.toggle("calm", !replacing);
  };
  form.querySelectorAll('input[name="mode"]').forEach((r) => r.addEventListener("change", label));
  label();
  form.addEventListener("submit", () => { button.disabled = true; });
})();
