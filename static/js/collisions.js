// Collision detection on the ticket page: every few seconds, say whether this agent is
// viewing or writing a reply, and show who else is on the ticket and whether someone
// wrote since the page was loaded (tickets/collisions.py).
(function () {
  "use strict";
  var bar = document.getElementById("ticket-presence");
  if (!bar) return;
  var url = bar.getAttribute("data-url");
  var seen = bar.getAttribute("data-seen");
  var reply = document.querySelector('form[data-macros] textarea[name="body"]');
  var token = (document.querySelector('input[name="csrfmiddlewaretoken"]') || {}).value || "";
  var every = 10000;

  function state() {
    return reply && reply.value.trim() ? "replying" : "viewing";
  }

  function show(data) {
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
    body.append("seen", seen);
    body.append("csrfmiddlewaretoken", token);
    return body;
  }

  function tick() {
    fetch(url, { method: "POST", body: send(state()), credentials: "same-origin", headers: { "X-CSRFToken": token } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) show(data); })
      .catch(function () {});
  }

  tick();
  setInterval(tick, every);
  if (reply) {
    var sent = "";
    reply.addEventListener("input", function () {
      var now = state();
      if (now !== sent) { sent = now; tick(); }
    });
  }
  window.addEventListener("pagehide", function () {
    if (navigator.sendBeacon) navigator.sendBeacon(url, send("left"));
  });
})();
