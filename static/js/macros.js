// Macros in the reply box: Alt+M (or the button) opens a searchable list; picking one
// inserts its text (placeholders already filled for this ticket by the server), takes its
// status into "Then set status", and remembers its id so the reply applies its changes.
// The ticket page swaps its reply form in place (ticket_page.js): set up each new one.
(function () {
  "use strict";
  function setUp() {
  var form = document.querySelector("form[data-macros]");
  if (!form || form.hasAttribute("data-macros-ready")) return;
  form.setAttribute("data-macros-ready", "");
  var box = form.querySelector('textarea[name="body"]');
  var status = form.querySelector('select[name="status"]');
  var chosen = form.querySelector('input[name="macro"]');
  var note = form.querySelector(".macro-chosen");
  var url = form.getAttribute("data-macros");
  var picker = document.createElement("div");
  picker.className = "macro-picker";
  picker.hidden = true;
  picker.setAttribute("role", "dialog");
  picker.setAttribute("aria-label", "Insert a macro");
  var input = document.createElement("input");
  input.type = "search";
  input.placeholder = "Search macros";
  input.setAttribute("aria-label", "Search macros");
  var list = document.createElement("ul");
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Macros");
  picker.appendChild(input);
  picker.appendChild(list);
  box.parentNode.insertBefore(picker, box.nextSibling);
  var rows = [];
  var active = 0;
  var timer = null;

  function render() {
    list.textContent = "";
    if (!rows.length) {
      var empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = "No macro matches.";
      list.appendChild(empty);
      return;
    }
    rows.forEach(function (m, i) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === active ? "true" : "false");
      var title = document.createElement("strong");
      title.textContent = m.title + (m.shared ? "" : " (personal)");
      var body = document.createElement("span");
      body.className = "muted";
      body.textContent = " " + m.body.slice(0, 80);
      li.appendChild(title);
      li.appendChild(body);
      li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(m); });
      list.appendChild(li);
    });
  }

  function load(q) {
    fetch(url + "&q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) { rows = data.macros; active = 0; render(); });
  }

  function open() {
    picker.hidden = false;
    input.value = "";
    load("");
    input.focus();
  }

  function close() {
    picker.hidden = true;
    box.focus();
  }

  function choose(m) {
    var start = box.selectionStart || 0;
    var end = box.selectionEnd || 0;
    box.value = box.value.slice(0, start) + m.body + box.value.slice(end);
    box.selectionStart = box.selectionEnd = start + m.body.length;
    if (status && m.status) status.value = m.status;
    chosen.value = String(m.id);
    var does = [];
    if (m.status) does.push("status " + m.status);
    if (m.actions.priority) does.push("priority " + m.actions.priority);
    if (m.actions.category) does.push("category " + m.actions.category);
    if (m.actions.team) does.push("team " + m.actions.team);
    if (m.actions.tags.length) does.push("tags " + m.actions.tags.join(", "));
    note.textContent = "Macro “" + m.title + "”" + (does.length ? ": sending also sets " + does.join("; ") + "." : ".");
    close();
  }

  box.addEventListener("keydown", function (e) {
    if (e.altKey && (e.code === "KeyM" || e.key === "m" || e.key === "M" || e.key === "µ")) {
      e.preventDefault();
      open();
    }
  });
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { load(input.value); }, 120);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown") { active = Math.min(active + 1, rows.length - 1); render(); e.preventDefault(); }
    else if (e.key === "ArrowUp") { active = Math.max(active - 1, 0); render(); e.preventDefault(); }
    else if (e.key === "Enter") { e.preventDefault(); if (rows[active]) choose(rows[active]); }
    else if (e.key === "Escape") { e.preventDefault(); close(); }
  });
  input.addEventListener("blur", function () { setTimeout(function () { picker.hidden = true; }, 150); });
  var button = form.querySelector("[data-macro-open]");
  if (button) button.addEventListener("click", function (e) { e.preventDefault(); open(); });
  }
  setUp();
  document.addEventListener("htmx:afterSettle", setUp);
})();
