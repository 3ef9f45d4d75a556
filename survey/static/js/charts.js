// Draws every figure on the page from its data-figure attribute (built server-side by
// survey/dashboard/charts.py). A static file, so the Content-Security-Policy needs no
// 'unsafe-inline'. Without JavaScript the tables below each chart carry the same numbers.
(function () {
  "use strict";
  function draw() {
    if (!window.Plotly) { return; }
    document.querySelectorAll(".chart[data-figure]").forEach(function (element) {
      var figure = JSON.parse(element.getAttribute("data-figure"));
      window.Plotly.newPlot(element, figure.data, figure.layout, {
        displayModeBar: false,
        responsive: true,
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
