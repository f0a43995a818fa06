// Case review: select cells with the mouse or the arrows, press a class key to move them.
(function () {
  "use strict";
  var root = document.getElementById("review-cells");
  if (!root) { return; }
  var KEYS = { n: "neutrophil", l: "lymphocyte", m: "monocyte", e: "eosinophil", b: "basophil",
               i: "ig", r: "erythroblast", p: "platelet", o: "other" };
  var locked = root.getAttribute("data-locked") === "1";
  var url = root.getAttribute("data-reclassify-url");
  var anchor = null;

  function cells() { return Array.prototype.slice.call(root.querySelectorAll("figure.cell")); }
  function selected() { return cells().filter(function (c) { return c.classList.contains("selected"); }); }
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function select(cell, mode) {
    var all = cells();
    if (mode === "range" && anchor) {
      var a = all.indexOf(anchor), b = all.indexOf(cell);
      all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (c) { c.classList.add("selected"); });
    } else if (mode === "toggle") {
      cell.classList.toggle("selected");
      anchor = cell;
    } else {
      all.forEach(function (c) { c.classList.remove("selected"); });
      cell.classList.add("selected");
      anchor = cell;
    }
    cell.focus();
  }
  root.addEventListener("click", function (ev) {
    var cell = ev.target.closest("figure.cell");
    if (!cell) { return; }
    select(cell, ev.shiftKey ? "range" : (ev.ctrlKey || ev.metaKey) ? "toggle" : "one");
  });

  var camToggle = document.getElementById("toggle-cam");
  function showCam(on) {
    cells().forEach(function (c) {
      var img = c.querySelector("img");
      var cam = c.getAttribute("data-cam");
      img.src = on && cam ? cam : c.getAttribute("data-image");
    });
  }
  if (camToggle) { camToggle.addEventListener("change", function () { showCam(camToggle.checked); }); }

  function groupFor(name) {
    var group = root.querySelector('.group[data-group="' + name + '"]');
    if (!group) {
      group = document.createElement("div");
      group.className = "group";
      group.setAttribute("data-group", name);
      group.innerHTML = "<h3></h3><div class=\"cells\"></div>";
      group.querySelector("h3").textContent = name + " ";
      var count = document.createElement("span");
      count.className = "count";
      group.querySelector("h3").appendChild(count);
      root.appendChild(group);
    }
    return group;
  }
  function recount() {
    root.querySelectorAll(".group").forEach(function (g) {
      g.querySelector(".count").textContent = g.querySelectorAll("figure.cell").length;
    });
  }
  function tableCell(tag, text, numeric) {
    var td = document.createElement(tag);
    if (numeric) { td.className = "num"; }
    td.textContent = text;
    return td;
  }
  // The reclassify endpoint returns the differential table as the page renders it
  // (apps/review/display.py): labels, the short-count warning and the analyser's column.
  function updateDifferential(diff) {
    var body = document.getElementById("diff-body");
    if (!body) { return; }
    body.innerHTML = "";
    diff.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-class", row["class"]);
      tr.appendChild(tableCell("td", row.label, false));
      [row.count, row.percent, row.analyser_count].forEach(function (v) {
        tr.appendChild(tableCell("td", v, true));
      });
      body.appendChild(tr);
    });
    document.getElementById("diff-total").textContent = diff.total;
    document.getElementById("diff-reviewed").textContent = diff.reviewed;
    var warning = document.getElementById("diff-short");
    if (warning) {
      warning.textContent = diff.warning || "";
      warning.hidden = !diff.warning;
    }
    var analyser = document.querySelector("#analyser-differential tbody");
    if (analyser) {
      analyser.innerHTML = "";
      diff.rows.forEach(function (row) {
        if (!row.analyser) { return; }
        var tr = document.createElement("tr");
        tr.setAttribute("data-class", row["class"]);
        tr.appendChild(tableCell("td", row.label, false));
        tr.appendChild(tableCell("td", row.analyser, true));
        analyser.appendChild(tr);
      });
    }
  }
  function move(cls) {
    var chosen = selected();
    if (!chosen.length || locked) { return; }
    var ids = chosen.map(function (c) { return parseInt(c.getAttribute("data-cell"), 10); });
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ cells: ids, "class": cls })
    }).then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
      .then(function (res) {
        if (!res.ok) { window.alert(res.data.error || "Error"); return; }
        var target = groupFor(cls).querySelector(".cells");
        chosen.forEach(function (c) {
          c.setAttribute("data-class", cls);
          c.classList.add("reviewed");
          target.appendChild(c);
        });
        recount();
        updateDifferential(res.data.differential);
        root.setAttribute("data-last-move", cls + ":" + ids.join(","));
      });
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.target.matches("input, textarea, select")) { return; }
    var key = ev.key.toLowerCase();
    if (KEYS[key]) { ev.preventDefault(); move(KEYS[key]); return; }
    if (key === "g" && camToggle) { camToggle.checked = !camToggle.checked; showCam(camToggle.checked); return; }
    if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
      var all = cells(), current = document.activeElement;
      var i = all.indexOf(current);
      if (i < 0) { return; }
      var next = all[Math.max(0, Math.min(all.length - 1, i + (ev.key === "ArrowRight" ? 1 : -1)))];
      ev.preventDefault();
      select(next, ev.shiftKey ? "toggle" : "one");
    }
  });
})();
