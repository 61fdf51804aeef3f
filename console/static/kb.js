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

// Import: the file goes as the request body with the CSRF header; the answer says what was
// imported, or every problem found (as text).
(function () {
  const form = document.getElementById("import-form");
  if (!form) return;
  const done = document.getElementById("imported");
  const failed = document.getElementById("import-error");
  const meta = document.querySelector('meta[name="csrf-token"]');
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.querySelector('input[type="file"]').files[0];
    done.hidden = failed.hidden = true;
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
      if (!resp.ok) throw new Error(data.message || "导入失败（HTTP " + resp.status + "）");
      const parts = Object.entries(data.imported).map(([label, n]) => label + " " + n + " 条");
      done.textContent = "导入完成并已发布：" + parts.join("，") + "。";
      done.hidden = false;
    } catch (err) {
      failed.textContent = err.message;
      failed.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
})();
