/* Draws a predictive model's calibration chart (admin change page) with the vendored
 * Chart.js: observed vs predicted per decile, beside the diagonal. The data comes from a
 * json_script block, so no inline script runs (strict Content-Security-Policy). */
(function () {
  "use strict";

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-calibration"));
    if (!source || !window.Chart) return;
    var spec = JSON.parse(source.textContent);
    canvas.__chart = new window.Chart(canvas, {
      type: "scatter",
      data: {
        datasets: [
          {
            label: canvas.getAttribute("data-label-observed"),
            data: spec.points,
            borderColor: "#417690",
            backgroundColor: "#417690",
            showLine: true,
            pointRadius: 4
          },
          {
            label: canvas.getAttribute("data-label-diagonal"),
            data: spec.diagonal,
            borderColor: "#999",
            borderDash: [6, 4],
            showLine: true,
            pointRadius: 0
          }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: {min: 0, title: {display: true, text: canvas.getAttribute("data-label-x")}},
          y: {min: 0, title: {display: true, text: canvas.getAttribute("data-label-y")}}
        },
        plugins: {
          tooltip: {
            callbacks: {
              afterLabel: function (item) { return item.raw.count !== undefined ? "n = " + item.raw.count : ""; }
            }
          }
        }
      }
    });
    canvas.setAttribute("data-drawn", "true");
  }

  function drawAll() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-calibration]"), draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
