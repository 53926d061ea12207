// Charts of the insights pages, fetched from their JSON endpoints (no inline script: the CSP
// forbids it). Each <canvas data-chart-src="URL"> draws the chart the endpoint describes
// ({labels, horizontal, datasets: [{label, unit, values}], links}, see insights/charts.py).
// A click on a bar opens its link: the conversations behind that figure, as the table's link.
// Labels are drawn on the canvas as text, never parsed as markup.
(function () {
  "use strict";

  var PALETTE = ["--accent", "#b5651d", "#2e8b57", "#8a4baf"];

  function colour(style, index) {
    var name = PALETTE[index % PALETTE.length];
    if (name.charAt(0) !== "-") return name;
    return style.getPropertyValue(name).trim() || "#1f5fbf";
  }

  var numbers = new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 1 });

  // As the tables show durations (insights_tags.seconds_as_duration): 12 min, 1 h 05.
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 60) return Math.round(seconds) + " s";
    var minutes = Math.round(seconds / 60);
    if (minutes < 60) return minutes + " min";
    var rest = minutes % 60;
    return Math.floor(minutes / 60) + " h " + (rest < 10 ? "0" : "") + rest;
  }

  function format(unit, value) {
    if (value === null || value === undefined) return "—";
    if (unit === "seconds") return duration(value);
    if (unit === "percent") return numbers.format(value) + " %";
    if (unit === "stars") return numbers.format(value) + " ★";
    return numbers.format(value);
  }

  // One axis per unit: the first along the bottom (or the left), the second on the other side.
  function scales(units, horizontal) {
    var out = {};
    var valueAxis = horizontal ? "x" : "y";
    units.forEach(function (unit, index) {
      var axis = { type: "linear", axis: valueAxis, beginAtZero: true, grid: { drawOnChartArea: index === 0 } };
      axis.position = horizontal ? (index === 0 ? "bottom" : "top") : (index === 0 ? "left" : "right");
      axis.ticks = { callback: function (value) { return format(unit, value); } };
      if (unit === "count") axis.ticks.precision = 0;
      if (unit === "percent") axis.max = 100;
      if (unit === "stars") axis.max = 5;
      out[unit] = axis;
    });
    out[horizontal ? "y" : "x"] = { ticks: { autoSkip: !horizontal } };
    return out;
  }

  function draw(canvas, data, style) {
    var units = [];
    data.datasets.forEach(function (set) { if (units.indexOf(set.unit) < 0) units.push(set.unit); });
    var horizontal = !!data.horizontal;
    var links = data.links || [];
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (set, index) {
          var dataset = { label: set.label, data: set.values, backgroundColor: colour(style, index), unit: set.unit };
          dataset[horizontal ? "xAxisID" : "yAxisID"] = set.unit;
          return dataset;
        })
      },
      options: {
        animation: false,
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        plugins: {
          legend: { display: data.datasets.length > 1 },
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.dataset.label + ": " + format(item.dataset.unit, item.raw);
              }
            }
          }
        },
        scales: scales(units, horizontal),
        onHover: function (event, elements) {
          var target = event.native && event.native.target;
          if (target) target.style.cursor = elements.length && links[elements[0].index] ? "pointer" : "";
        },
        onClick: function (event, elements) {
          if (!elements.length) return;
          var link = links[elements[0].index];
          // Only the site's own paths (the drill-down), never another origin.
          if (typeof link === "string" && link.charAt(0) === "/" && link.charAt(1) !== "/") window.location.assign(link);
        }
      }
    });
    canvas.chart = chart;
    canvas.dataset.drawn = String(data.labels.length);
  }

  function load(canvas, style) {
    fetch(canvas.dataset.chartSrc, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        var box = canvas.parentElement;
        if (data.horizontal && box.classList.contains("chart-box")) {
          // A bar per row and dataset: the chart grows with its table.
          box.style.height = Math.max(140, 72 + data.labels.length * 14 * data.datasets.length) + "px";
        }
        draw(canvas, data, style);
      })
      .catch(function () { canvas.dataset.drawn = "failed"; });
  }

  function start() {
    if (typeof window.Chart === "undefined") return;
    var style = getComputedStyle(document.body);
    // Text and grid in the theme's colours (light or dark).
    var text = style.getPropertyValue("--muted").trim();
    var border = style.getPropertyValue("--border").trim();
    if (text) window.Chart.defaults.color = text;
    if (border) window.Chart.defaults.borderColor = border;
    document.querySelectorAll("canvas[data-chart-src]").forEach(function (canvas) { load(canvas, style); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
