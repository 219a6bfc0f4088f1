// The inbox stays live: every few seconds it fetches its own table (the same URL, so
// the same view, filters, sort and page) and swaps it in, unless the agent has ticked
// tickets for a bulk action or is using the bulk bar. Rows that are new or changed since
// the last look are marked, the keyboard's marked row (shortcuts.js) is kept, and a
// polite status line says what changed.
(function () {
  "use strict";
  var table = document.getElementById("ticket-table");
  var note = document.getElementById("live-note");
  if (!table || !window.htmx) return;
  var every = (parseInt(table.getAttribute("data-live-seconds"), 10) || 20) * 1000;
  var before = {};
  var marked = null;
  var focused = false;

  function snapshot() {
    var rows = {};
    table.querySelectorAll("tbody tr[data-ticket]").forEach(function (row) {
      var time = row.querySelector("td:nth-last-child(2) time");
      rows[row.getAttribute("data-ticket")] = time ? time.getAttribute("datetime") : "";
    });
    return rows;
  }

  function busy() {
    if (document.visibilityState === "hidden") return true;
    if (table.querySelector('tbody input[type="checkbox"]:checked')) return true;
    var active = document.activeElement;
    return !!(active && active.closest && active.closest(".bulk-bar, .filters"));
  }

  function refresh() {
    if (busy()) return;
    before = snapshot();
    var current = table.querySelector("tr.kb-current");
    marked = current ? current.getAttribute("data-ticket") : null;
    focused = table.contains(document.activeElement);
    window.htmx.ajax("GET", window.location.pathname + window.location.search, {
      source: table, target: table, swap: "innerHTML",
    });
  }

  table.addEventListener("htmx:afterSettle", function () {
    var after = snapshot();
    var changed = 0;
    Object.keys(after).forEach(function (id) {
      if (before[id] !== undefined && before[id] === after[id]) return;
      if (Object.keys(before).length === 0) return;
      changed += 1;
      var row = table.querySelector('tr[data-ticket="' + id + '"]');
      if (row) row.classList.add("fresh");
    });
    if (changed && note) {
      note.textContent = changed + " ticket" + (changed === 1 ? "" : "s") + " new or changed since you last looked.";
    }
    before = {};
    if (marked) {
      var row = table.querySelector('tr[data-ticket="' + marked + '"]');
      if (row) {
        row.classList.add("kb-current");
        row.setAttribute("aria-current", "true");
        var link = row.querySelector("td.subject a.ticket-link");
        if (focused && link) link.focus({ preventScroll: true });
      }
    }
  });

  setInterval(refresh, every);
})();
