// Console keyboard shortcuts (the list: console/_shortcuts.html, opened with "?").
// Inbox: j/k move, Enter opens, x selects. Ticket: r reply, n note, a assign to me,
// e solve, ] next in this view. Everywhere: / search, ? the list. None fires while the
// agent types in a field or holds Ctrl, Alt or Meta.
(function () {
  "use strict";
  var dialog = document.getElementById("shortcuts-dialog");

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    if (target.isContentEditable || tag === "textarea" || tag === "select") return true;
    if (tag !== "input") return false;
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf(type) < 0;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(".inbox-table tbody tr"));
  }

  function currentIndex(list) {
    for (var i = 0; i < list.length; i++) if (list[i].classList.contains("kb-current")) return i;
    return -1;
  }

  function select(list, index) {
    list.forEach(function (row) { row.classList.remove("kb-current"); row.removeAttribute("aria-current"); });
    var row = list[index];
    if (!row) return;
    row.classList.add("kb-current");
    row.setAttribute("aria-current", "true");
    var link = row.querySelector("td.subject a.ticket-link");
    if (link) link.focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = rows();
    if (!list.length) return false;
    var index = currentIndex(list);
    index = index < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(Math.max(index + step, 0), list.length - 1);
    select(list, index);
    return true;
  }

  function focusField(selector) {
    var field = document.querySelector(selector);
    if (!field) return false;
    field.scrollIntoView({ block: "center" });
    field.focus();
    return true;
  }

  function click(selector) {
    var button = document.querySelector(selector);
    if (!button) return false;
    button.click();
    return true;
  }

  function openList() {
    if (!dialog) return false;
    if (!dialog.open) dialog.showModal();
    return true;
  }

  var actions = {
    j: function () { return move(1); },
    k: function () { return move(-1); },
    x: function () {
      var list = rows();
      var row = list[currentIndex(list)];
      var box = row && row.querySelector('input[type="checkbox"]');
      if (!box) return false;
      box.checked = !box.checked;
      return true;
    },
    Enter: function () {
      var list = rows();
      var row = list[currentIndex(list)];
      // A focused link opens itself; this is for a row marked while focus was elsewhere.
      if (!row || row.contains(document.activeElement)) return false;
      var link = row.querySelector("td.subject a.ticket-link");
      if (link) window.location.href = link.href;
      return !!link;
    },
    r: function () { return focusField('form[data-macros] textarea[name="body"]'); },
    n: function () { return focusField("#id_note_body"); },
    a: function () { return click('[data-shortcut="assign"]'); },
    e: function () { return click('[data-shortcut="solve"]'); },
    "]": function () { return click('[data-shortcut="next-in-view"]'); },
    "/": function () { return focusField("#header-q"); },
    "?": openList,
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (typing(event.target) || (dialog && dialog.open)) return;
    var action = actions[event.key];
    if (action && action()) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-shortcuts-open]");
    if (opener && openList()) event.preventDefault();
  });

})();
