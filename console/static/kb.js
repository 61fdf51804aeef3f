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
