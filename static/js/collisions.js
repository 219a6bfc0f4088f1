// Collision detection on the ticket page: every few seconds, say whether this agent is
// viewing or writing a reply, and show who else is on the ticket and whether someone
// wrote since the page was loaded (tickets/collisions.py).
(function () {
  "use strict";
  // The ticket page swaps its parts in place (ticket_page.js), so each use looks the
  // elements up again: the newest message id shown is the swapped-in bar's.
  var bar = document.getElementById("ticket-presence");
  if (!bar) return;
  var url = bar.getAttribute("data-url");
  var reply = null;
  var token = (document.querySelector('input[name="csrfmiddlewaretoken"]') || {}).value || "";
  var every = 10000;

  function refresh() {
    bar = document.getElementById("ticket-presence") || bar;
    reply = document.querySelector('form[data-macros] textarea[name="body"]');
  }

  function state() {
    return reply && reply.value.trim() ? "replying" : "viewing";
  }

  function show(data) {
    refresh();
    bar.textContent = "";
    data.colleagues.forEach(function (c, i) {
      if (i) bar.appendChild(document.createTextNode(" · "));
      var span = document.createElement("span");
      span.className = "presence-" + c.state;
      span.textContent = c.name + " is " + c.state + (c.state === "viewing" ? " this ticket" : "");
      bar.appendChild(span);
    });
    if (data.new_messages) {
      if (data.colleagues.length) bar.appendChild(document.createTextNode(" · "));
      var link = document.createElement("a");
      link.href = window.location.pathname;
      link.className = "presence-new";
      link.textContent = data.new_messages + " new message" + (data.new_messages === 1 ? "" : "s") +
        " since you opened this ticket: reload to read";
      bar.appendChild(link);
    }
  }

  function send(value) {
    var body = new FormData();
    body.append("state", value);
    body.append("seen", bar.getAttribute("data-seen"));
    body.append("csrfmiddlewaretoken", token);
    return body;
  }

  function tick() {
    refresh();
    fetch(url, { method: "POST", body: send(state()), credentials: "same-origin", headers: { "X-CSRFToken": token } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) show(data); })
      .catch(function () {});
  }

  refresh();
  tick();
  setInterval(tick, every);
  var sent = "";
  document.addEventListener("input", function (event) {
    refresh();
    if (!reply || event.target !== reply) return;
    var now = state();
    if (now !== sent) { sent = now; tick(); }
  });
  window.addEventListener("pagehide", function () {
    if (navigator.sendBeacon) navigator.sendBeacon(url, send("left"));
  });
})();
