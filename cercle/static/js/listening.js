// The volume chart of a listening search, drawn from the JSON the page carries (no inline script: the CSP forbids it).
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("listening-volume");
    var canvas = document.getElementById("listening-volume-chart");
    if (!source || !canvas || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var style = getComputedStyle(document.body);
    var accent = style.getPropertyValue("--accent").trim() || "#3b6fd8";
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: data.label, data: data.values, backgroundColor: accent },
          { label: data.negative_label, data: data.negative, backgroundColor: "#c0392b" }
        ]
      },
      options: { animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
