// Draws every figure on the page from its data-figure attribute (built server-side by
// survey/dashboard/charts.py). A static file, so the Content-Security-Policy needs no
// 'unsafe-inline'. Until a chart is drawn, and without JavaScript, the server's SVG
// drawing of it stands, with the table below carrying the same numbers.
// A chart is drawn when it comes near the screen, so a phone spends its first seconds on
// the chart the reader looks at, not on the three below it (issue 16).
(function () {
  "use strict";
  function draw(element) {
    if (element.getAttribute("data-drawn")) { return; }
    element.setAttribute("data-drawn", "1");
    var figure = JSON.parse(element.getAttribute("data-figure"));
    var sketch = element.querySelector(".chart-sketch");
    if (sketch) { sketch.remove(); }
    window.Plotly.newPlot(element, figure.data, figure.layout, {
      displayModeBar: false,
      responsive: true,
    });
  }
  function start() {
    if (!window.Plotly) { return; }
    var charts = document.querySelectorAll(".chart[data-figure]");
    if (!("IntersectionObserver" in window)) {
      charts.forEach(draw);
      return;
    }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          draw(entry.target);
        }
      });
    }, {rootMargin: "400px 0px"});
    charts.forEach(function (element) { observer.observe(element); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
