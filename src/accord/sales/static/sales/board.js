// The deal board's drag and drop. Loaded only by the board page, as a static file (the
// Content-Security-Policy allows no inline script). Without it every card keeps its "Move to
// stage" form, which posts the whole page; with it a card dropped on another column submits
// that same form, which htmx sends in the background and answers with the board redrawn.
(function () {
  "use strict";

  var dragged = null;

  function columnOf(node) {
    return node && node.closest ? node.closest("[data-stage]") : null;
  }

  function clearTargets() {
    document.querySelectorAll(".board-column.is-drop-target").forEach(function (column) {
      column.classList.remove("is-drop-target");
    });
  }

  function onDragStart(event) {
    var card = event.target.closest && event.target.closest(".deal-card");
    if (!card) {
      return;
    }
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
  }

  function onDragOver(event) {
    var column = columnOf(event.target);
    if (!dragged || !column) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("is-drop-target")) {
      clearTargets();
      column.classList.add("is-drop-target");
    }
  }

  function onDrop(event) {
    var column = columnOf(event.target);
    var card = dragged;
    if (!card || !column) {
      return;
    }
    event.preventDefault();
    clearTargets();
    var form = card.querySelector("form.card-move");
    var select = form && form.querySelector("select[name=stage]");
    var stage = column.getAttribute("data-stage");
    if (!select || select.value === stage) {
      return;
    }
    select.value = stage;
    card.classList.add("is-moving");
    // requestSubmit fires the submit event htmx listens for; without htmx the page posts.
    form.requestSubmit();
  }

  function onDragEnd() {
    if (dragged) {
      dragged.classList.remove("is-dragging");
    }
    dragged = null;
    clearTargets();
  }

  // After the board is redrawn, keyboard focus goes back to the card that moved (or was
  // refused), so the person continues where they were.
  function onSettle(event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "board") {
      return;
    }
    var card = document.querySelector("#board [data-moved]");
    if (card) {
      card.focus();
    }
  }

  document.addEventListener("dragstart", onDragStart);
  document.addEventListener("dragover", onDragOver);
  document.addEventListener("drop", onDrop);
  document.addEventListener("dragend", onDragEnd);
  document.addEventListener("htmx:afterSettle", onSettle);
})();
