// The error summary (templates/respond/page.html) takes the focus, so that a screen reader
// reads it and Tab goes through its links, where a browser does not honour `autofocus`
// on it. A summary link moves the focus into its field, not only the view. Without this
// script the summary still comes first in the content.
(function () {
  "use strict";
  var summary = document.querySelector(".error-summary");
  if (!summary) { return; }
  if (document.activeElement !== summary) { summary.focus(); }
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) { return; }
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) { return; }
    var input = target.matches("input, textarea, select") ? target
      : target.querySelector("input, textarea, select");
    if (!input) { return; }
    event.preventDefault();
    var legend = target.querySelector("legend") || target;
    (target.tagName === "TEXTAREA" && target.labels && target.labels[0] || legend).scrollIntoView();
    input.focus({ preventScroll: true });
  });
})();
