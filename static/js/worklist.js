// Worklist: / focuses the search, the arrows (or J/K) move between cases, Enter opens one.
(function () {
  "use strict";
  var table = document.getElementById("worklist");
  if (!table) { return; }
  function rows() { return Array.prototype.slice.call(table.querySelectorAll("tr.case-row")); }
  function focusRow(row) {
    if (!row) { return; }
    rows().forEach(function (r) { r.classList.remove("current"); });
    row.classList.add("current");
    row.focus();
  }
  table.addEventListener("click", function (ev) {
    var row = ev.target.closest("tr.case-row");
    if (row && !ev.target.closest("a")) { focusRow(row); }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var search = document.getElementById("worklist-search");
    if (ev.target.matches("input, textarea, select")) {
      if (ev.key === "ArrowDown" && ev.target === search) { ev.preventDefault(); focusRow(rows()[0]); }
      return;
    }
    if (ev.key === "/" && search) { ev.preventDefault(); search.focus(); search.select(); return; }
    var all = rows();
    var i = all.indexOf(document.activeElement);
    if (ev.key === "ArrowDown" || ev.key === "j") {
      ev.preventDefault();
      focusRow(all[i < 0 ? 0 : Math.min(all.length - 1, i + 1)]);
    } else if (ev.key === "ArrowUp" || ev.key === "k") {
      ev.preventDefault();
      focusRow(all[i < 0 ? 0 : Math.max(0, i - 1)]);
    } else if (ev.key === "Enter" && i >= 0) {
      ev.preventDefault();
      window.location.href = all[i].getAttribute("data-href");
    }
  });
})();
