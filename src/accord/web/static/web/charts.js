// The dashboard charts: draws each figure the server rendered into a data-figure attribute
// (accord.web.dashboards) with plotly.js, served from the plotly package, and makes a click on a
// bar open the list it counts (the bar's customdata). Loaded as a static file after plotly.js;
// without JavaScript the card's table shows the same figures with the same links.
(function () {
  "use strict";

  // Only our own pages: a path on this site, never another origin or a javascript: URL.
  function ownPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/";
  }

  function draw(element) {
    var figure;
    try {
      figure = JSON.parse(element.getAttribute("data-figure"));
    } catch (error) {
      return;
    }
    var config = { displayModeBar: false, responsive: true };
    window.Plotly.newPlot(element, figure.data, figure.layout, config).then(function () {
      element.classList.add("chart-drawn");
      // The chart shows what the table shows: fold the table away (still one click open).
      var table = element.parentElement.querySelector("details.chart-table");
      if (table) {
        table.removeAttribute("open");
      }
    });
    element.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      if (point && ownPath(point.customdata)) {
        window.location.assign(point.customdata);
      }
    });
  }

  function drawAll() {
    if (!window.Plotly) {
      return;
    }
    document.querySelectorAll("[data-figure]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
