/* The case queue's live SLA timers (service/case_queue.html).
 *
 * Each running target is a [data-sla-due] element holding its due and warning instants; the
 * server wrote the time left when it rendered the page, and this counts it down every few
 * seconds, turning the state to "At risk" and "Breached" as the instants pass (class and text,
 * not colour alone). Times are measured against the server's clock: the table carries the
 * instant it was rendered (data-server-now), and the browser's clock only measures the seconds
 * since. htmx replaces the table every 45 s (not while focus is inside it); the next tick
 * reads the new one.
 */
(function () {
  "use strict";

  var STATES = { ok: "On track", warning: "At risk", breached: "Breached" };

  function durationText(seconds) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    if (minutes === 0) return "under 1 min";
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor(minutes / 60) % 24;
    var mins = minutes % 60;
    if (days) return days + " d " + hours + " h";
    if (hours) return hours + " h " + mins + " min";
    return mins + " min";
  }

  function serverNow(table) {
    if (!table.dataset.seenAt) table.dataset.seenAt = String(Date.now());
    var rendered = Date.parse(table.dataset.serverNow);
    return rendered + (Date.now() - Number(table.dataset.seenAt));
  }

  function update(element, now) {
    var due = Date.parse(element.dataset.slaDue);
    var warn = Date.parse(element.dataset.slaWarn);
    var left = (due - now) / 1000;
    var state = left <= 0 ? "breached" : now >= warn ? "warning" : "ok";
    var text = left <= 0 ? "Overdue by " + durationText(left) : durationText(left) + " left";
    element.classList.remove("sla-ok", "sla-warning", "sla-breached");
    element.classList.add("sla-" + state);
    var row = element.closest("tr");
    if (row) {
      row.classList.remove("sla-row-ok", "sla-row-warning", "sla-row-breached");
      row.classList.add("sla-row-" + state);
    }
    var stateText = element.querySelector(".sla-state");
    var leftText = element.querySelector(".sla-left");
    if (stateText && stateText.textContent !== STATES[state]) stateText.textContent = STATES[state];
    if (leftText && leftText.textContent !== text) leftText.textContent = text;
  }

  function tick() {
    var table = document.getElementById("case-queue");
    if (!table || !table.dataset.serverNow) return;
    var now = serverNow(table);
    table.querySelectorAll("[data-sla-due]").forEach(function (element) {
      update(element, now);
    });
  }

  // The periodic refresh waits while the agent is using a form in the table: replacing it
  // would drop their focus and the choice they were making.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var table = document.getElementById("case-queue");
    if (table && event.detail.elt === table && table.contains(document.activeElement)) {
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", tick);
  window.setInterval(tick, 5000);
})();
