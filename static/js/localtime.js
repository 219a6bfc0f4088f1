// Adds the viewer's own local time next to times shown in the support team's zone.
(function () {
  function annotate(root) {
    root.querySelectorAll("time[data-localtime]:not([data-done])").forEach(function (el) {
      el.setAttribute("data-done", "1");
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      var viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (viewerZone === el.getAttribute("title")) return;
      var span = document.createElement("span");
      span.className = "viewer-time";
      span.textContent = " (" + when.toLocaleString([], {
        weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
        timeZoneName: "short"
      }) + " your time)";
      el.after(span);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { annotate(document); });
  document.addEventListener("htmx:afterSwap", function (e) { annotate(e.target); });
})();
