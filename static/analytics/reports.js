/* Draws the analytics reports' charts with the vendored Chart.js. The data comes from
 * <script type="application/json"> blocks (Django's json_script), so no inline script runs:
 * the pages work under a strict Content-Security-Policy. */
(function () {
  "use strict";

  var PALETTE = ["#417690", "#e07b39", "#5a9e4b", "#b04a7a", "#7b62b8", "#c9a227", "#3aa3a3", "#888"];

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart").replace(/^chart-/, ""));
    if (!source || !window.Chart) return;
    var spec = JSON.parse(source.textContent);
    var datasets = spec.datasets.map(function (d, i) {
      var color = PALETTE[i % PALETTE.length];
      return {
        label: d.label,
        data: d.data,
        borderColor: color,
        backgroundColor: spec.type === "bar" ? color : color + "33",
        spanGaps: true,
        tension: 0.2,
        pointRadius: 2
      };
    });
    canvas.__chart = new window.Chart(canvas, {
      type: spec.type,
      data: {labels: spec.labels, datasets: datasets},
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: {mode: "index", intersect: false},
        scales: {y: {beginAtZero: true, ticks: spec.percent ? {callback: function (v) { return v + " %"; }} : {}}},
        plugins: {legend: {display: datasets.length > 1 || spec.type === "line"}}
      }
    });
    canvas.setAttribute("data-drawn", "true");
  }

  function drawAll() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
