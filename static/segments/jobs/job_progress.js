/* Keeps a segment job page current: polls the JSON status (data-status-url) until the job
   is done or failed, and updates the progress bar, counts, result, download link or errors.
   A static file (no inline script) so the admin's Content-Security-Policy allows it. */
(function () {
  "use strict";
  var POLL_MS = 700;

  function field(root, name) { return root.querySelector('[data-field="' + name + '"]'); }

  function setText(root, name, value) {
    var node = field(root, name);
    if (node) node.textContent = value == null ? "" : String(value);
  }

  function render(root, s) {
    root.setAttribute("data-state", s.status);
    ["status_label", "phase_label", "processed", "total", "percent", "matched", "unmatched"]
      .forEach(function (name) { setText(root, name, s[name]); });
    setText(root, "unmatched_sample", (s.unmatched_sample || []).join(", ") +
      (s.unmatched > (s.unmatched_sample || []).length ? ", …" : ""));
    var bar = root.querySelector("progress");
    if (bar) { bar.value = s.percent; bar.textContent = s.percent + "%"; }
    var done = root.querySelector(".pz-job-done"), failed = root.querySelector(".pz-job-failed");
    if (done) done.hidden = s.status !== "done";
    if (failed) failed.hidden = s.status !== "failed";
    // Sentences come from the server, already in the page's language.
    if (s.status === "done" && s.kind === "upload") setText(root, "result_text", s.result_text);
    var link = field(root, "download_url");
    if (link && s.download_url) link.setAttribute("href", s.download_url);
    if (s.status === "failed") {
      setText(root, "error", s.error);
      var list = field(root, "error_rows");
      if (list) {
        list.textContent = "";
        (s.error_rows || []).forEach(function (row) {
          var item = document.createElement("li");
          item.textContent = (root.getAttribute("data-row-label") || "Row") + " " + row.row +
            ": " + row.message;
          list.appendChild(item);
        });
      }
    }
  }

  function poll(root) {
    var url = root.getAttribute("data-status-url");
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (s) {
        render(root, s);
        if (!s.finished) window.setTimeout(function () { poll(root); }, POLL_MS);
      })
      .catch(function () {
        // A lost request (server restarting, network) is retried, more slowly.
        window.setTimeout(function () { poll(root); }, POLL_MS * 4);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".pz-job[data-status-url]"), poll);
  });
})();
