// Accord's staff pages: the little behaviour pages need beyond htmx. Loaded as a static file
// (the Content-Security-Policy allows no inline script). Every page works without it.
(function () {
  "use strict";

  // htmx requests carry the CSRF token from the page's meta tag, the way forms carry it in a
  // hidden field; hx-headers on <body> is inherited by every element that makes a request.
  function setCsrfHeader() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": meta.content }));
    }
  }

  // "/" focuses the global search box, unless the person is typing somewhere.
  function searchShortcut(event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) {
      return;
    }
    var box = document.getElementById("global-search");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  }

  // Escape closes the user menu and gives focus back to its button.
  function closeMenus(event) {
    if (event.key !== "Escape") {
      return;
    }
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) {
        summary.focus();
      }
    });
  }

  // Rows of a repeating editor (sharing rule criteria, territory rules): "Add a row" copies the
  // template row with fresh indexes; each row's "Remove" button removes it. Without JavaScript
  // the server renders one spare empty row instead.
  function addRow(button) {
    var editor = button.closest("[data-rows]");
    var template = editor && editor.querySelector("template");
    var body = editor && editor.querySelector("[data-rows-body]");
    if (!template || !body) {
      return;
    }
    var index = Number(editor.getAttribute("data-next") || body.children.length);
    var html = template.innerHTML.replace(/__index__/g, String(index));
    editor.setAttribute("data-next", String(index + 1));
    body.insertAdjacentHTML("beforeend", html);
    var first = body.lastElementChild && body.lastElementChild.querySelector("input, select");
    if (first) {
      first.focus();
    }
  }

  function onClick(event) {
    var button = event.target.closest && event.target.closest("[data-add-row], [data-remove-row]");
    if (!button) {
      return;
    }
    event.preventDefault();
    if (button.hasAttribute("data-add-row")) {
      addRow(button);
    } else {
      var row = button.closest("[data-row]");
      var editor = button.closest("[data-rows]");
      if (row) {
        row.remove();
      }
      var add = editor && editor.querySelector("[data-add-row]");
      if (add) {
        add.focus();
      }
    }
  }

  // Buttons that need this script (adding and removing rows) show only when it runs.
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", setCsrfHeader);
  document.addEventListener("keydown", searchShortcut);
  document.addEventListener("keydown", closeMenus);
  document.addEventListener("click", onClick);
})();
