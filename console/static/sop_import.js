// The SOP import page: a picked YAML file is read into the text area (the form posts text).
"use strict";

(function () {
  const picker = document.getElementById("yaml-file");
  const text = document.getElementById("yaml-text");
  const error = document.getElementById("yaml-file-error");
  if (!picker || !text) return;
  picker.addEventListener("change", () => {
    const file = picker.files && picker.files[0];
    if (!file) return;
    error.hidden = true;
    if (file.size > 1000000) {
      error.textContent = "文件太大（最多 1 MB）";
      error.hidden = false;
      return;
    }
    file.text().then((content) => { text.value = content; }).catch(() => {
      error.textContent = "读不了这个文件，请改为粘贴内容";
      error.hidden = false;
    });
  });
})();
