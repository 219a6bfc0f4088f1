// Adds the viewer's own time under the team's. Without JavaScript the team time stays.
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("[data-viewer-time]").forEach(function (line) {
    var time = document.getElementById(line.getAttribute("data-viewer-time"));
    var when = time && new Date(time.getAttribute("datetime"));
    if (!when || isNaN(when)) return;
    var options = {hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"};
    if (line.getAttribute("data-show") === "day") {
      options.weekday = "long"; options.day = "numeric"; options.month = "long";
    }
    var text = new Intl.DateTimeFormat(undefined, options).format(when);
    line.textContent = "In your time zone (" + zone + "): " + text + ".";
    line.hidden = false;
  });
})();
