// Draws each report chart from the JSON beside its canvas; the table after it holds the
// same figures for screen readers and for anyone without JavaScript.
(function () {
  "use strict";
  var palette = ["#1f5fa8", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207"];
  function draw() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("figure.report-chart").forEach(function (figure) {
      var canvas = figure.querySelector("canvas");
      var data = figure.querySelector("script[type='application/json']");
      if (!canvas || !data) return;
      var spec = JSON.parse(data.textContent);
      var round = spec.type === "doughnut";
      new Chart(canvas, {
        type: spec.type,
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map(function (set, index) {
            var colour = round ? palette : palette[index % palette.length];
            return {
              label: set.label, data: set.data, backgroundColor: colour,
              borderColor: colour, spanGaps: true, tension: 0.2
            };
          })
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          scales: round ? {} : { y: { beginAtZero: true, title: { display: !!spec.y_label, text: spec.y_label } } }
        }
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
