// Charts of the insights page, drawn from the JSON the page carries (no inline script: the CSP forbids it).
// Each <canvas data-chart="ID"> draws the bar chart of the JSON element #ID ({labels, values, label}).
(function () {
  "use strict";
  function draw() {
    if (typeof window.Chart === "undefined") return;
    var style = getComputedStyle(document.body);
    var accent = style.getPropertyValue("--accent").trim() || "#3b6fd8";
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      var data = JSON.parse(source.textContent);
      new window.Chart(canvas, {
        type: "bar",
        data: { labels: data.labels, datasets: [{ label: data.label, data: data.values, backgroundColor: accent }] },
        options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
