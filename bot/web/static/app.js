// modbot dashboard: keyboard shortcuts, select-all for bulk actions, nothing else.
// Served from the package under a Content-Security-Policy that forbids inline script.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const selectAll = document.getElementById("select-all");
  if (selectAll) {
    selectAll.addEventListener("change", () => {
      for (const box of document.querySelectorAll('input[name="case"]')) box.checked = selectAll.checked;
    });
  }

  const rows = Array.from(document.querySelectorAll("tr.case-row"));
  let current = -1;
  const focusRow = (i) => {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, j) => r.classList.toggle("current", j === current));
    rows[current].scrollIntoView({ block: "nearest" });
  };
  const click = (id) => {
    const el = document.getElementById(id);
    if (el) el.click();
  };

  document.addEventListener("keydown", (event) => {
    const tag = (event.target && event.target.tagName) || "";
    if (["INPUT", "TEXTAREA", "SELECT"].includes(tag) || event.ctrlKey || event.metaKey || event.altKey) return;
    switch (event.key) {
      case "j": focusRow(current + 1); break;
      case "k": focusRow(current - 1); break;
      case "Enter": if (current >= 0) window.location.href = rows[current].dataset.href; break;
      case "a": click("verdict-approve"); break;
      case "r": click("verdict-remove"); break;
      case "e": click("escalate"); break;
      case "n": click("next-case"); break;
      default: return;
    }
    event.preventDefault();
  });
});
