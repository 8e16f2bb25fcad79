/* Draws an experiment's results charts with the vendored Chart.js. The data comes from
 * <script type="application/json"> blocks (Django's json_script), so no inline script runs
 * and the page works under a strict Content-Security-Policy.
 *
 * Two kinds of chart:
 * - "band": per arm, a line (the cumulative effect) inside a shaded band (its interval);
 * - "stacked": per arm, stacked bars of each day's share of new units. */
(function () {
  "use strict";

  var PALETTE = ["#e07b39", "#5a9e4b", "#b04a7a", "#7b62b8", "#c9a227", "#3aa3a3", "#417690", "#888"];

  function percentTicks(spec) {
    return spec.percent ? {callback: function (v) { return v + " %"; }} : {};
  }

  function bandDatasets(spec) {
    var datasets = [];
    spec.series.forEach(function (s, i) {
      var color = PALETTE[i % PALETTE.length];
      // The band is drawn by filling the lower bound up to the upper one ("-1": the dataset
      // just before); neither bound is in the legend or the tooltip.
      datasets.push({label: s.label + " high", data: s.high, borderWidth: 0, pointRadius: 0,
                     fill: false, spanGaps: true, bound: true});
      datasets.push({label: s.label + " low", data: s.low, borderWidth: 0, pointRadius: 0,
                     fill: "-1", backgroundColor: color + "33", spanGaps: true, bound: true});
      datasets.push({label: s.label, data: s.data, borderColor: color, backgroundColor: color,
                     fill: false, spanGaps: true, tension: 0.2, pointRadius: 2});
    });
    return datasets;
  }

  // The first days' intervals are very wide (few units); scaling the axis to them would
  // flatten the rest. The axis fits the later two thirds of the days, and the early band is
  // clipped at the edge of the chart.
  function bandBounds(spec) {
    var from = Math.floor(spec.labels.length / 3), lo = 0, hi = 0;
    spec.series.forEach(function (s) {
      [s.low, s.high, s.data].forEach(function (values) {
        values.slice(from).forEach(function (v) {
          if (v === null || v === undefined) return;
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        });
      });
    });
    // Round outwards to a step of the range's order of magnitude, so the edges are round ticks.
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) || 1))) / 2;
    return {min: Math.floor(lo / step) * step, max: Math.ceil(hi / step) * step};
  }

  function stackedDatasets(spec) {
    return spec.series.map(function (s, i) {
      var color = i === 0 ? "#417690" : PALETTE[(i - 1) % PALETTE.length];
      return {label: s.label, data: s.data, backgroundColor: color, borderColor: color};
    });
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || !window.Chart) return;
    var spec = JSON.parse(source.textContent);
    var band = spec.kind === "band";
    canvas.__chart = new window.Chart(canvas, {
      type: band ? "line" : "bar",
      data: {labels: spec.labels, datasets: band ? bandDatasets(spec) : stackedDatasets(spec)},
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: {mode: "index", intersect: false},
        scales: band
          ? {y: Object.assign({ticks: percentTicks(spec)}, bandBounds(spec))}
          : {x: {stacked: true}, y: {stacked: true, min: 0, max: 100, ticks: percentTicks(spec)}},
        plugins: {
          legend: {labels: {filter: function (item, data) { return !data.datasets[item.datasetIndex].bound; }}},
          tooltip: {filter: function (item) { return !item.dataset.bound; }}
        }
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
