// Specimen page: folder picking for CellaVision exports, and analysis progress polling.
(function () {
  "use strict";
  var input = document.getElementById("smear-files");
  var folder = document.getElementById("pick-folder");
  var paths = document.getElementById("smear-paths");
  if (folder && input) {
    folder.addEventListener("change", function () {
      if (folder.checked) { input.setAttribute("webkitdirectory", ""); }
      else { input.removeAttribute("webkitdirectory"); }
      input.value = "";
      paths.value = "";
    });
    input.addEventListener("change", function () {
      var rel = Array.prototype.map.call(input.files, function (f) { return f.webkitRelativePath || ""; });
      // Relative paths keep the class folders (the analyser's pre-classification).
      paths.value = rel.every(function (p) { return p; }) && rel.length ? JSON.stringify(rel) : "";
    });
  }

  var box = document.getElementById("analysis");
  var text = document.getElementById("analysis-text");
  if (!box) { return; }
  var status = text ? text.getAttribute("data-status") : "none";
  var scores = document.getElementById("scores");
  // Poll while the run works, or while the scores shown are the previous ones (the worker
  // computes the new after a blood count or a run); reload once neither is so.
  var running = status === "queued" || status === "running";
  if (!running && !(scores && scores.hasAttribute("data-pending"))) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector(".bar");
  var progress = box.querySelector(".progress");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.active && text) {
          if (bar) { bar.style.width = data.percent + "%"; }
          if (progress) { progress.setAttribute("aria-valuenow", data.percent); }
          text.textContent = data.text;   // worded by the server, in the page's language
          text.setAttribute("data-status", data.status);
        }
        if (data.active || data.scores_pending) { window.setTimeout(poll, 1500); }
        else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
