/* The admin's preview pages: draws each screen design as a visual mock and each non-HTML
   placement as a user would see it (static/personalize/design-mock.js, the demo's renderer),
   from the JSON the page carries (#pz-preview-data). HTML bodies, in a page or inside a
   design, go into sandboxed iframes (no scripts, no navigation). A static file: CSP-safe. */
(function () {
  "use strict";

  function sandboxed(target, html) {
    var frame = document.createElement("iframe");
    frame.className = "pz-rendered";
    frame.setAttribute("sandbox", "");
    frame.setAttribute("srcdoc", html);
    target.appendChild(frame);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("pz-preview-data");
    var mock = window.PersonalizeMock;
    if (!source || !mock) return;
    var data = JSON.parse(source.textContent);
    var options = {htmlInto: sandboxed};
    Array.prototype.forEach.call(document.querySelectorAll("[data-screen-mock]"), function (node) {
      mock.drawDesign(node, data.screens[node.getAttribute("data-screen-mock")], data.placements, options);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-placement-mock]"), function (node) {
      var placed = data.placements[node.getAttribute("data-placement-mock")];
      mock.renderContent(node, placed && placed.content, options);
    });
  });
})();
