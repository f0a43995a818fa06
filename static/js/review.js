// Case review: select cells with the mouse or the arrows (in two dimensions), see the selected
// cell in the large pane, press a class key to move the selection, Ctrl-Z to undo, ? for help.
(function () {
  "use strict";
  var root = document.getElementById("review-cells");
  if (!root) { return; }
  var locked = root.getAttribute("data-locked") === "1";
  var url = root.getAttribute("data-reclassify-url");
  var vacuolesUrl = root.getAttribute("data-vacuoles-url");
  var anchor = null;
  // Each entry, newest last: [{fig, from}] of one reclassification (from: the class before),
  // or {vacuoles: [{fig, from}]} of one vacuole read (from: the read before).
  var undoStack = [];
  var busy = false;

  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }
  var labels = json("class-labels");
  var groupLabels = json("group-labels");  // a group's heading: its cells, in the plural
  var KEYS = json("class-keys");  // key -> class code (apps.review.views.KEYS)

  function isNeutrophil(fig) {   // band forms too (apps.smears.differential.is_neutrophil)
    var cls = fig.getAttribute("data-class");
    return cls === "neutrophil" || cls === "band_neutrophil";
  }
  function cells() { return Array.prototype.slice.call(root.querySelectorAll("figure.cell")); }
  function selected() { return cells().filter(function (c) { return c.classList.contains("selected"); }); }
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  // ---- the large-cell pane ----
  var camToggle = document.getElementById("toggle-cam");
  var previewCam = document.getElementById("preview-cam");
  var previewVacuole = document.getElementById("preview-vacuole");
  var shown = null;
  function text(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
    return el;
  }
  function row(cellsText) {
    var tr = document.createElement("tr");
    cellsText.forEach(function (v) {
      var td = document.createElement("td");
      if (v instanceof Node) { td.appendChild(v); } else { td.textContent = v; }
      tr.appendChild(td);
    });
    return tr;
  }
  // What the pane shows beyond the image (probabilities, subtype, attributes, neutrophil
  // outputs) is read per cell when it is first shown, not sent with the page.
  var cellUrl = root.getAttribute("data-cell-url");
  var details = {};   // cell id -> the pane's data, as the server words it
  var pending = {};   // cell id -> the request under way
  var changes = {};   // cell id -> reclassifications seen: an older answer is stale
  function detailOf(id) {
    if (details[id]) { return Promise.resolve(details[id]); }
    if (!pending[id]) {
      var request = fetch(cellUrl.replace(/\/0\/$/, "/" + id + "/"), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (r) {
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.json();
      }).then(function (d) {
        // Kept unless the cell was reclassified meanwhile (forget() dropped this request).
        if (pending[id] === request) { details[id] = d; delete pending[id]; }
        return d;
      }, function (err) {
        if (pending[id] === request) { delete pending[id]; }
        throw err;
      });
      pending[id] = request;
    }
    return pending[id];
  }
  function forget(id) {
    delete details[id];
    delete pending[id];
    changes[id] = (changes[id] || 0) + 1;
  }
  function showDetail(d) {
    text("preview-class", d.final_label || "");
    var domain = text("preview-domain", d.domain || "");
    domain.hidden = !d.domain;
    var probs = document.getElementById("preview-probs");
    probs.innerHTML = "";
    (d.probs || []).slice(0, 3).forEach(function (p) {
      var bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = Math.max(1, p.width) + "px";
      // Outside the validated domain: the classes in the model's order, no figure, no bar.
      probs.appendChild(row(p.value ? [p.label, p.value, bar] : [p.label]));
    });
    // No table at all for an image without a white cell (its flag says why).
    probs.closest("table").hidden = !(d.probs || []).length;
    var caption = document.getElementById("preview-probs-caption");
    caption.textContent = d.probs_caption || caption.getAttribute("data-default");
    var note = text("preview-probs-note", d.probs_note || "");
    note.hidden = !d.probs_note;
    text("preview-subtype", (d.subtype || "") + (d.subtype_note ? " — " + d.subtype_note : ""));
    var attrs = document.getElementById("preview-attributes");
    attrs.innerHTML = "";
    (d.anomalies || []).concat(d.attributes || []).forEach(function (a) {
      attrs.appendChild(row([a.name, a.value, a.prob || ""]));
    });
  }
  function preview(fig) {
    var body = document.getElementById("preview-body");
    if (!body || !fig) { return; }
    shown = fig;
    var id = fig.getAttribute("data-cell");
    document.getElementById("preview-empty").hidden = true;
    body.hidden = false;
    document.getElementById("preview-reviewed").hidden = !fig.classList.contains("reviewed");
    var cam = fig.getAttribute("data-cam");
    previewCam.disabled = !cam;
    var withCam = previewCam.checked && cam;
    // The vacuole output's map: for a cell shown as a neutrophil that has one.
    var vacuole = isNeutrophil(fig) && fig.getAttribute("data-cam-vacuole");
    showVacuoleRead(fig);
    previewVacuole.disabled = !vacuole;
    // Not offered at all on a cell that has none (a lymphocyte has no vacuole output).
    previewVacuole.closest("label").hidden = !vacuole;
    var withVacuole = previewVacuole.checked && vacuole;
    var img = document.getElementById("preview-image");
    img.src = withVacuole ? vacuole : (withCam ? cam : fig.getAttribute("data-image"));
    img.alt = fig.querySelector("img").alt;
    document.getElementById("preview-cam-legend").hidden = !withCam || !!withVacuole;
    document.getElementById("preview-vacuole-legend").hidden = !withVacuole;
    var error = document.getElementById("preview-error");
    error.hidden = true;
    body.removeAttribute("aria-busy");
    if (details[id]) { showDetail(details[id]); return; }
    // The image and the gallery's class at once; the model's figures when they arrive.
    showDetail({ final_label: labels[fig.getAttribute("data-class")] || "" });
    body.setAttribute("aria-busy", "true");
    var asked = changes[id] || 0;
    function current() { return shown === fig && (changes[id] || 0) === asked; }
    detailOf(id).then(function (d) {
      if (!current()) { return; }   // another cell is shown, or this answer is stale
      body.removeAttribute("aria-busy");
      showDetail(d);
    }, function () {
      if (!current()) { return; }
      body.removeAttribute("aria-busy");
      error.hidden = false;
    });
  }
  // The biologist's read of the shown neutrophil's vacuoles: three buttons, the one pressed
  // being the cell's read now ("": not read, the model's output counts).
  var vacuoleRead = document.getElementById("vacuole-read");
  function readOf(fig) {
    var span = fig.querySelector(".vac-read");
    return span ? span.getAttribute("data-read") || "" : "";
  }
  function showVacuoleRead(fig) {
    if (!vacuoleRead) { return; }
    vacuoleRead.hidden = !isNeutrophil(fig);
    var read = readOf(fig);
    vacuoleRead.querySelectorAll("button").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-read") === read ? "true" : "false");
    });
  }
  if (previewCam) {
    previewCam.addEventListener("change", function () { preview(shown); });
    previewVacuole.addEventListener("change", function () { preview(shown); });
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
    preview(cell);
  }
  root.addEventListener("click", function (ev) {
    var cell = ev.target.closest("figure.cell");
    if (!cell) { return; }
    select(cell, ev.shiftKey ? "range" : (ev.ctrlKey || ev.metaKey) ? "toggle" : "one");
  });
  // A cell reached with Tab is the one the keys act on, as a clicked one is (a pointer's
  // focus is left to the click, which may add the cell to the selection).
  var pointing = false;
  root.addEventListener("mousedown", function () { pointing = true; });
  document.addEventListener("mouseup", function () { pointing = false; });
  root.addEventListener("focusin", function (ev) {
    var cell = ev.target.closest("figure.cell");
    if (!cell || pointing || cell.classList.contains("selected")) { return; }
    select(cell, "one");
  });
  // Score evidence cells open in the large pane (and are selected in the gallery).
  document.addEventListener("click", function (ev) {
    var evidence = ev.target.closest("[data-evidence-cell]");
    if (!evidence) { return; }
    var fig = root.querySelector('figure.cell[data-cell="' + evidence.getAttribute("data-evidence-cell") + '"]');
    if (!fig) { return; }
    ev.preventDefault();
    select(fig, "one");
    fig.scrollIntoView({ block: "nearest" });
  });

  function showCam(on) {
    cells().forEach(function (c) {
      var img = c.querySelector("img");
      var cam = c.getAttribute("data-cam");
      img.src = on && cam ? cam : c.getAttribute("data-image");
    });
    if (previewCam) { previewCam.checked = on; preview(shown); }
  }
  if (camToggle) { camToggle.addEventListener("change", function () { showCam(camToggle.checked); }); }

  var size = document.getElementById("thumb-size");
  if (size) {
    size.addEventListener("input", function () { root.style.setProperty("--thumb", size.value + "px"); });
  }

  // ---- the side panel's tabs ----
  var tabs = Array.prototype.slice.call(document.querySelectorAll(".tabs [role=tab]"));
  function openTab(tab) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
  }
  tabs.forEach(function (t) { t.addEventListener("click", function () { openTab(t); }); });
  if (tabs.length) { openTab(tabs[0]); }

  // ---- the differential, refreshed from what the reclassify endpoint returns ----
  function groupFor(name) {
    var group = root.querySelector('.group[data-group="' + name + '"]');
    if (!group) {
      group = document.createElement("div");
      group.className = "group";
      group.setAttribute("data-group", name);
      group.innerHTML = "<h3><span class=\"group-label\"></span> <span class=\"count\"></span></h3><div class=\"cells\"></div>";
      group.querySelector(".group-label").textContent = groupLabels[name] || labels[name] || name;
      // In the gallery's order (the labels' order, apps.review.selectors.GALLERY_ORDER): before
      // the first group that comes after it, else last.
      var order = Object.keys(labels);
      var groups = Array.prototype.slice.call(root.querySelectorAll(".group"));
      var next = groups.filter(function (g) {
        var at = order.indexOf(g.getAttribute("data-group"));
        return at > order.indexOf(name) && order.indexOf(name) >= 0;
      })[0];
      if (next) { next.before(group); } else if (groups.length) {
        groups[groups.length - 1].after(group);
      } else { root.appendChild(group); }
    }
    return group;
  }
  function recount() {
    root.querySelectorAll(".group").forEach(function (g) {
      var n = g.querySelectorAll("figure.cell").length;
      g.querySelector(".count").textContent = n;
      g.hidden = n === 0;
    });
  }
  function tableCell(tag, value, numeric) {
    var td = document.createElement(tag);
    if (numeric) { td.className = "num"; }
    td.textContent = value;
    return td;
  }
  // What still stops signing, as the endpoint words it (apps.review.services.sign_blockers):
  // the list says what stops a validation; the button follows the decision chosen, since
  // images without a class stop a validation, not a rejection.
  function signAllowed() {
    var button = document.getElementById("sign-submit");
    var meaning = document.getElementById("sign-meaning");
    if (!button || !meaning) { return; }
    var key = meaning.value === "rejected" ? "data-blocked-rejected" : "data-blocked-validated";
    button.disabled = Number(button.getAttribute(key) || "0") > 0;
  }
  function updateBlockers(blockers, rejectBlockers) {
    var list = document.getElementById("sign-blockers");
    var button = document.getElementById("sign-submit");
    var allowed = document.getElementById("sign-reject-allowed");
    if (!list) { return; }
    list.innerHTML = "";
    blockers.forEach(function (b) {
      var li = document.createElement("li");
      li.textContent = b;
      list.appendChild(li);
    });
    list.hidden = !blockers.length;
    if (allowed) { allowed.hidden = !blockers.length || rejectBlockers.length > 0; }
    if (button) {
      button.setAttribute("data-blocked-validated", String(blockers.length));
      button.setAttribute("data-blocked-rejected", String(rejectBlockers.length));
    }
    signAllowed();
  }
  var meaningSelect = document.getElementById("sign-meaning");
  if (meaningSelect) {
    meaningSelect.addEventListener("change", signAllowed);
    signAllowed();
  }
  // The endpoint returns the differential table as the page renders it
  // (apps/review/display.py): labels, the short-count warning and the analyser's column.
  function updateDifferential(diff) {
    var body = document.getElementById("diff-body");
    if (!body) { return; }
    body.innerHTML = "";
    diff.rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-class", r["class"]);
      if (r.sub) { tr.className = "sub"; }  // a part of the row above (band forms)
      tr.appendChild(tableCell("td", r.label, false));
      tr.appendChild(tableCell("td", r.count, true));
      var percent = tableCell("td", r.percent, true);
      if (r.absolute_flag && !document.getElementById("absolute-heading")) {  // a blast: beside
        var mark = document.createElement("strong");                      // its share then
        mark.className = "flag";
        mark.textContent = r.absolute_flag;
        percent.appendChild(document.createElement("br"));
        percent.appendChild(mark);
      }
      if (r.interval) {  // short of the target count: the share's 95 % interval
        var span = document.createElement("span");
        span.className = "interval nobreak";
        span.textContent = "(" + r.interval + ")";
        percent.appendChild(document.createElement("br"));  // under its share, every row alike
        percent.appendChild(span);
      }
      tr.appendChild(percent);
      if (document.getElementById("absolute-heading")) {  // beside the analyser's WBC
        var absolute = tableCell("td", r.absolute, true);
        if (r.absolute_flag) {  // read against the blood count's interval for that count
          var flag = document.createElement("strong");
          flag.className = "flag";
          flag.textContent = r.absolute_flag;
          absolute.appendChild(document.createElement("br"));
          absolute.appendChild(flag);
        }
        if (r.absolute_interval) {  // short of the target, or why a count is not flagged
          var range = document.createElement("span");
          range.className = "interval nobreak";  // whole, under its count
          range.textContent = "(" + r.absolute_interval + ")";
          absolute.appendChild(document.createElement("br"));  // the panel is narrow
          absolute.appendChild(range);
        }
        tr.appendChild(absolute);
      }
      tr.appendChild(tableCell("td", r.analyser_count, true));
      body.appendChild(tr);
    });
    // Validating a differential short of its target needs the signer's word for it.
    var acknowledge = document.getElementById("sign-count-acknowledge");
    if (acknowledge) { acknowledge.hidden = !diff.short_of_target; }
    document.getElementById("diff-total").textContent = diff.total;
    document.getElementById("diff-reviewed").textContent = diff.reviewed;
    [["diff-short", diff.warning], ["diff-interval", diff.interval_note],
     ["diff-absolute", diff.absolute_note], ["diff-other", diff.other_note],
     ["diff-discrepancy", diff.discrepancy_note], ["diff-rounding", diff.rounding_note]].forEach(function (p) {
      var note = document.getElementById(p[0]);
      if (note) {
        note.textContent = p[1] || "";
        note.hidden = !p[1];
      }
    });
    var analyser = document.querySelector("#analyser-differential tbody");
    if (analyser) {
      analyser.innerHTML = "";
      diff.rows.forEach(function (r) {
        if (!r.analyser) { return; }
        var tr = document.createElement("tr");
        tr.setAttribute("data-class", r["class"]);
        tr.appendChild(tableCell("td", r.label, false));
        var figure = tableCell("td", r.analyser_differs ? "" : r.analyser, true);
        if (r.analyser_differs) {  // outside the 95 % interval of the smear's share
          var mark = document.createElement("strong");
          mark.className = "differs";
          mark.textContent = "≠ " + r.analyser;
          figure.appendChild(mark);
        }
        tr.appendChild(figure);
        analyser.appendChild(tr);
      });
    }
  }

  // A JSON answer, or the server's refusal in words when it is not one (a page refusing the
  // request: no permission, a session that ended), never a parser's message.
  function answer(r) {
    return r.json().then(function (d) { return { ok: r.ok, data: d }; }, function () {
      var word = root.getAttribute(r.status === 403 ? "data-word-forbidden" : "data-word-failed");
      return { ok: false, data: { error: (word || "Error") + " (HTTP " + r.status + ")" } };
    });
  }

  // ---- reclassification and its undo (an undo is one more audited reclassification) ----
  // Moving a cell to its new group takes the keyboard focus from it: ``then`` (when given)
  // says which cell the review goes on from, selected and focused before the page marks the
  // move done, so that the arrows and keys never act on a cell the eye has left.
  function send(figs, cls, undo, name, then) {
    var ids = figs.map(function (c) { return parseInt(c.getAttribute("data-cell"), 10); });
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ cells: ids, "class": cls, undo: !!undo, name: name || "" })
    }).then(answer)
      .then(function (res) {
        if (!res.ok) { throw new Error(res.data.error || "Error"); }
        var target = groupFor(cls).querySelector(".cells");
        figs.forEach(function (c) {
          c.setAttribute("data-class", cls);
          c.classList.toggle("reviewed", !!(res.data.reviewed || {})[c.getAttribute("data-cell")]);
          otherName(c, (res.data.names || {})[c.getAttribute("data-cell")] || "");
          caption(c, (res.data.vacuole || {})[c.getAttribute("data-cell")] || {});
          forget(c.getAttribute("data-cell"));   // read again: new class, its outputs
          target.appendChild(c);
        });
        recount();
        updateDifferential(res.data.differential);
        updateBlockers(res.data.blockers || [], res.data.reject_blockers || []);
        // The scanner's band forms still waiting for the biologist, counted again.
        var bands = document.getElementById("scanner-bands");
        if (bands) {
          bands.textContent = res.data.scanner_bands_text || "";
          bands.hidden = !res.data.scanner_bands_text;
        }
        // In an amendment: what changed since the version the carried-over comment was for.
        var changes = document.getElementById("sign-comment-changes");
        if (changes) {
          changes.textContent = res.data.comment_changes || "";
          changes.hidden = !res.data.comment_changes;
        }
        if (then) { then(); }
        if (shown) { preview(shown); }
        scoresChanging();
        root.setAttribute(undo ? "data-last-undo" : "data-last-move", cls + ":" + ids.join(","));
        return ids;
      });
  }
  // ---- the scores panel, read again while the worker recomputes the scores ----
  var scoresUrl = root.getAttribute("data-scores-url");
  var scoresTimers = [];
  function refreshScores() {
    var tab = document.getElementById("scores-tab");
    if (!tab || !scoresUrl) { return; }
    fetch(scoresUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var next = document.createElement("div");
        next.innerHTML = html;
        // The domain banner's count of cells waiting for a class follows the moves too.
        var banner = document.getElementById("domain-banner");
        var freshBanner = next.querySelector("#domain-banner");
        if (banner && freshBanner && banner.outerHTML !== freshBanner.outerHTML) {
          banner.replaceWith(freshBanner);
        }
        var panel = tab.querySelector("#scores"), fresh = next.querySelector("#scores");
        if (!panel || !fresh || panel.outerHTML === fresh.outerHTML) { return; }
        // The sections the biologist opened stay open.
        var open = Array.prototype.map.call(panel.querySelectorAll("details"), function (d) { return d.open; });
        fresh.querySelectorAll("details").forEach(function (d, i) { d.open = !!open[i]; });
        panel.replaceWith(fresh);
        root.setAttribute("data-scores-refreshed", String(Date.now()));
      })
      .catch(function () { /* the next refresh, or a reload, shows them */ });
  }
  function scoresChanging() {
    // The worker takes a second or a few: read the panel a few times, then stop.
    scoresTimers.forEach(clearTimeout);
    scoresTimers = [1500, 4000, 9000].map(function (ms) { return setTimeout(refreshScores, ms); });
  }

  // ---- the biologist's read of neutrophils' vacuoles, and its undo ----
  function markRead(fig, read) {
    var span = fig.querySelector(".vac-read");
    if (!read) { if (span) { span.remove(); } return; }
    if (!span) {
      span = document.createElement("span");
      var rev = fig.querySelector("figcaption .rev");
      fig.querySelector("figcaption").insertBefore(span, rev);
    }
    span.className = "vac-read " + read;
    span.setAttribute("data-read", read);
    span.title = vacuoleRead ? vacuoleRead.getAttribute("data-title") : "";
    span.textContent = vacuoleRead ? vacuoleRead.getAttribute("data-" + read) : read;
  }
  function sendRead(figs, read, undo) {
    var ids = figs.map(function (c) { return parseInt(c.getAttribute("data-cell"), 10); });
    return fetch(vacuolesUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ cells: ids, vacuoles: read, undo: !!undo })
    }).then(answer)
      .then(function (res) {
        if (!res.ok) { throw new Error(res.data.error || "Error"); }
        figs.forEach(function (c) {
          markRead(c, (res.data.vacuoles || {})[c.getAttribute("data-cell")] || "");
        });
        if (shown) { showVacuoleRead(shown); }
        scoresChanging();
        root.setAttribute("data-last-read", read + ":" + ids.join(","));
      });
  }
  function read(value) {
    // Neutrophils only (said when other cells were selected); a cell already read so is left
    // alone.
    var others = document.getElementById("vacuole-read-others");
    if (others) { others.hidden = selected().every(isNeutrophil); }
    var chosen = selected().filter(function (c) { return isNeutrophil(c) && readOf(c) !== value; });
    if (!chosen.length || locked || busy) { return; }
    var entry = { vacuoles: chosen.map(function (c) { return { fig: c, from: readOf(c) }; }) };
    busy = true;
    sendRead(chosen, value, false)
      .then(function () { undoStack.push(entry); })
      .catch(function (err) { window.alert(err.message); })
      .then(function () { busy = false; });
  }
  if (vacuoleRead) {
    vacuoleRead.addEventListener("click", function (ev) {
      var button = ev.target.closest("button[data-read]");
      if (button) { read(button.getAttribute("data-read")); }
    });
  }
  // A moved cell's vacuole output, as the gallery words it: shown while it is a neutrophil.
  function caption(fig, output) {
    var span = fig.querySelector(".anomaly.vacuole");
    if (!output.vacuole) { if (span) { span.hidden = true; } return; }
    if (!span) {
      span = document.createElement("span");
      span.className = "anomaly vacuole";
      span.title = root.getAttribute("data-word-vacuoles") || "";
      var after = fig.querySelector("figcaption .prediction");
      fig.querySelector("figcaption").insertBefore(span, after ? after.nextSibling : null);
    }
    span.hidden = false;
    span.textContent = (root.getAttribute("data-word-vac") || "") + " " + output.vacuole;
    span.classList.toggle("high", !!output.vacuole_high);
  }
  // What the biologist named a cell classed "other", in its caption and as its attribute.
  function otherName(fig, name) {
    var span = fig.querySelector("figcaption .other-name");
    if (name) {
      fig.setAttribute("data-other-name", name);
      if (!span) {
        span = document.createElement("span");
        span.className = "other-name";
        var caption = fig.querySelector("figcaption");
        caption.insertBefore(span, caption.firstChild);
      }
      span.textContent = name;
    } else {
      fig.removeAttribute("data-other-name");
      if (span) { span.parentNode.removeChild(span); }
    }
  }
  function move(cls) {
    // A cell's own class key confirms it (the biologist's class, "reviewed"); a cell already
    // confirmed in that class is left alone, but for "other", where the key names it again.
    var chosen = selected().filter(function (c) {
      return c.getAttribute("data-class") !== cls || !c.classList.contains("reviewed")
        || cls === "other";
    });
    if (!chosen.length || locked || busy) { return; }
    var entry = chosen.map(function (c) {
      return { fig: c, from: c.getAttribute("data-class") };
    });
    // A cell of no listed class: the biologist says what it is (the report names it).
    var name = "";
    if (cls === "other") {
      var question = document.getElementById("other-name-question");
      // Its name so far as the answer to change (one cell, or several named alike).
      var names = chosen.map(function (c) { return c.getAttribute("data-other-name") || ""; });
      var same = names.every(function (n) { return n === names[0]; });
      name = window.prompt(question ? question.textContent : "", same ? names[0] : "");
      if (name === null) { return; }  // cancelled: nothing is moved
    }
    // The review goes on from the next cell the chosen ones left (in the page's order, else
    // the one before them), as long as the selection is still theirs when the move is done.
    var visible = cells().filter(function (c) { return c.offsetParent !== null; });
    var at = visible.indexOf(chosen[chosen.length - 1]);
    var rest = visible.filter(function (c) { return chosen.indexOf(c) < 0; });
    var after = rest.filter(function (c) { return visible.indexOf(c) > at; })[0]
      || rest.filter(function (c) { return visible.indexOf(c) < at; }).pop();
    busy = true;
    send(chosen, cls, false, name, function () {
      var now = selected();
      var same = now.length === chosen.length
        && now.every(function (c) { return chosen.indexOf(c) >= 0; });
      if (same && after) {
        select(after, "one");
        after.scrollIntoView({ block: "nearest" });
      } else if (same) {
        chosen[0].focus();
      }
    })
      .then(function () { undoStack.push(entry); })
      .catch(function (err) { window.alert(err.message); })
      .then(function () { busy = false; });
  }
  function undo() {
    if (locked || busy || !undoStack.length) { return; }
    var entry = undoStack.pop();
    if (entry.vacuoles) {  // one request per read the cells had before
      var byRead = {};
      entry.vacuoles.forEach(function (m) { (byRead[m.from] = byRead[m.from] || []).push(m.fig); });
      busy = true;
      var reads = Promise.resolve();
      Object.keys(byRead).forEach(function (r) {
        reads = reads.then(function () { return sendRead(byRead[r], r, true); });
      });
      reads.catch(function (err) { window.alert(err.message); })
        .then(function () { busy = false; });
      return;
    }
    // One request per class the cells came from; a cell that had no class cannot go back.
    var byClass = {};
    entry.forEach(function (m) {
      if (m.from === "unclassified") { return; }
      (byClass[m.from] = byClass[m.from] || []).push(m.fig);
    });
    busy = true;
    var chain = Promise.resolve();
    var classes = Object.keys(byClass);
    classes.forEach(function (cls, n) {
      // Once the last class is back, the cells undone are the selection, the first focused.
      var last = n === classes.length - 1 ? function () {
        var figs = entry.map(function (m) { return m.fig; });
        select(figs[0], "one");
        figs.slice(1).forEach(function (c) { c.classList.add("selected"); });
        figs[0].scrollIntoView({ block: "nearest" });
      } : null;
      chain = chain.then(function () { return send(byClass[cls], cls, true, "", last); });
    });
    chain.catch(function (err) { window.alert(err.message); })
      .then(function () { busy = false; });
  }

  // ---- 2-D movement: the nearest cell in the direction of the arrow ----
  function neighbour(current, key) {
    var r = current.getBoundingClientRect();
    var cx = r.left + r.width / 2, cy = r.top + r.height / 2;
    var best = null, bestScore = Infinity;
    cells().forEach(function (c) {
      if (c === current || c.offsetParent === null) { return; }
      var q = c.getBoundingClientRect();
      var x = q.left + q.width / 2, y = q.top + q.height / 2;
      var dx = x - cx, dy = y - cy, score;
      if (key === "ArrowDown" || key === "ArrowUp") {
        if (key === "ArrowDown" ? dy <= r.height / 2 : dy >= -r.height / 2) { return; }
        score = Math.abs(dy) * 1000 + Math.abs(dx);   // the next row first, then the column
      } else {
        return;
      }
      if (score < bestScore) { bestScore = score; best = c; }
    });
    return best;
  }

  // ---- keyboard help ----
  var help = document.getElementById("shortcuts");
  function showHelp(on) {
    if (!help) { return; }
    help.hidden = !on;
    if (on) {
      // Focus its Close button without scrolling to it: the list is read from its title down.
      document.getElementById("close-shortcuts").focus({ preventScroll: true });
      help.querySelectorAll("*").forEach(function (el) { if (el.scrollTop) { el.scrollTop = 0; } });
    } else if (shown) { shown.focus(); }
  }
  var helpButton = document.getElementById("show-shortcuts");
  if (helpButton) { helpButton.addEventListener("click", function () { showHelp(true); }); }
  var closeHelp = document.getElementById("close-shortcuts");
  if (closeHelp) { closeHelp.addEventListener("click", function () { showHelp(false); }); }
  if (help) { help.addEventListener("click", function (ev) { if (ev.target === help) { showHelp(false); } }); }

  document.addEventListener("keydown", function (ev) {
    if (ev.target.matches("input:not([type=checkbox]):not([type=range]), textarea, select")) { return; }
    if (ev.key === "?") { ev.preventDefault(); showHelp(help && help.hidden); return; }
    if (help && !help.hidden) {
      if (ev.key === "Escape") { ev.preventDefault(); showHelp(false); }
      return;
    }
    if ((ev.ctrlKey || ev.metaKey) && !ev.shiftKey && ev.key.toLowerCase() === "z") {
      ev.preventDefault();
      undo();
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var key = ev.key.toLowerCase();
    if (key === "v" && vacuoleRead) {  // vacuoles seen; with Shift, none
      ev.preventDefault();
      read(ev.shiftKey ? "none" : "seen");
      return;
    }
    if (KEYS[key]) { ev.preventDefault(); move(KEYS[key]); return; }
    if (key === "g" && camToggle) { camToggle.checked = !camToggle.checked; showCam(camToggle.checked); return; }
    if (ev.key.indexOf("Arrow") !== 0) { return; }
    var all = cells().filter(function (c) { return c.offsetParent !== null; });
    var current = document.activeElement;
    var i = all.indexOf(current);
    if (i < 0) { return; }
    var next;
    if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
      next = all[Math.max(0, Math.min(all.length - 1, i + (ev.key === "ArrowRight" ? 1 : -1)))];
    } else {
      next = neighbour(current, ev.key);
    }
    if (!next) { return; }
    ev.preventDefault();
    select(next, ev.shiftKey ? "toggle" : "one");
    next.scrollIntoView({ block: "nearest" });
  });
})();
