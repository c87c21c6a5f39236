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

// Type-ahead of the global search box, an ARIA 1.2 combobox with a listbox popup: from
// MIN_CHARS characters on, DELAY ms after typing stops, the server's suggestions
// (search?suggest=1, rendered by web/search_suggest.html) fill the popup. ArrowDown/ArrowUp
// move through the options, Enter opens the chosen one (or submits the form when none is
// chosen), Escape closes the popup. Without this script the form submits to the search page.
(function () {
  "use strict";

  var MIN_CHARS = 2;
  var DELAY = 200;
  var box = null;
  var popup = null;
  var status = null;
  var timer = null;
  var pending = null;
  var active = -1;
  var shownQuery = null;

  function options() {
    return Array.prototype.slice.call(popup.querySelectorAll('[role="option"]'));
  }

  function setActive(index) {
    var list = options();
    list.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    active = index;
    if (index >= 0 && list[index]) {
      box.setAttribute("aria-activedescendant", list[index].id);
      list[index].scrollIntoView({ block: "nearest" });
    } else {
      box.removeAttribute("aria-activedescendant");
    }
  }

  function isOpen() {
    return !popup.hidden;
  }

  function open() {
    popup.hidden = false;
    box.setAttribute("aria-expanded", "true");
  }

  function close() {
    setActive(-1);
    popup.hidden = true;
    box.setAttribute("aria-expanded", "false");
  }

  function announce(list) {
    var error = list && list.getAttribute("data-error");
    var count = Number((list && list.getAttribute("data-count")) || 0);
    if (error) {
      return error;
    }
    if (!count) {
      return "No suggestions.";
    }
    return count + (count === 1 ? " suggestion" : " suggestions") + ": use the arrow keys to choose.";
  }

  function show(html, query) {
    popup.innerHTML = html;
    shownQuery = query;
    active = -1;
    box.removeAttribute("aria-activedescendant");
    var list = popup.firstElementChild;
    if (!list || !list.children.length) {
      close();
      status.textContent = "";
      return;
    }
    open();
    status.textContent = announce(list);
  }

  function load() {
    var query = box.value.trim();
    if (query.length < MIN_CHARS) {
      shownQuery = null;
      close();
      return;
    }
    if (query === shownQuery && isOpen()) {
      return;
    }
    if (pending) {
      pending.abort();
    }
    pending = new AbortController();
    var url = box.getAttribute("data-suggest-url") + "?suggest=1&q=" + encodeURIComponent(query);
    fetch(url, { credentials: "same-origin", signal: pending.signal })
      .then(function (response) {
        return response.ok ? response.text() : "";
      })
      .then(function (html) {
        // An answer to an older query (the person kept typing) is dropped.
        if (box.value.trim() === query) {
          show(html, query);
        }
      })
      .catch(function () {
        // Aborted or offline: the form still submits to the search page.
      });
  }

  function onInput() {
    window.clearTimeout(timer);
    timer = window.setTimeout(load, DELAY);
  }

  function go(option) {
    var href = option && option.getAttribute("data-href");
    if (href) {
      window.location.assign(href);
    }
  }

  function move(step) {
    var list = options();
    if (!list.length) {
      return;
    }
    if (!isOpen()) {
      open();
    }
    var next = active + step;
    if (next >= list.length) {
      next = 0;
    } else if (next < 0) {
      next = list.length - 1;
    }
    setActive(next);
  }

  function onKeydown(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!options().length) {
        load();
        return;
      }
      move(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter") {
      var list = options();
      if (isOpen() && active >= 0 && list[active]) {
        event.preventDefault();
        go(list[active]);
      }
    } else if (event.key === "Escape" && isOpen()) {
      // Closing the popup only: the search box keeps what was typed.
      event.preventDefault();
      close();
    }
  }

  function setUp() {
    box = document.getElementById("global-search");
    popup = document.getElementById("global-search-popup");
    status = document.getElementById("global-search-status");
    if (!box || !popup || !status || !window.fetch) {
      return;
    }
    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", popup.id);
    box.setAttribute("aria-expanded", "false");
    box.addEventListener("input", onInput);
    box.addEventListener("keydown", onKeydown);
    // A press on an option must not blur the box before the click opens the record.
    popup.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    popup.addEventListener("click", function (event) {
      go(event.target.closest && event.target.closest('[role="option"]'));
    });
    box.addEventListener("blur", function () {
      close();
    });
  }

  document.addEventListener("DOMContentLoaded", setUp);
})();
