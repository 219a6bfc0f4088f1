// Collision detection on the ticket page: say whether this agent is viewing or writing a
// reply, and show who else is on the ticket and whether someone wrote since the page was
// loaded (tickets/collisions.py). Over the ticket's socket (console/consumers.py) the
// news arrives as it happens; when the socket cannot connect, the page polls instead.
(function () {
  "use strict";
  // The ticket page swaps its parts in place (ticket_page.js), so each use looks the
  // elements up again: the newest message id shown is the swapped-in bar's.
  var bar = document.getElementById("ticket-presence");
  if (!bar) return;
  var url = bar.getAttribute("data-url");
  var socketUrl = bar.getAttribute("data-socket");
  var reply = null;
  var token = (document.querySelector('input[name="csrfmiddlewaretoken"]') || {}).value || "";
  var every = 10000;
  var socket = null;
  var polling = null;
  var current = { colleagues: [], new_messages: 0 };

  function refresh() {
    bar = document.getElementById("ticket-presence") || bar;
    reply = document.querySelector('form[data-macros] textarea[name="body"]');
  }

  function state() {
    return reply && reply.value.trim() ? "replying" : "viewing";
  }

  function seen() {
    return parseInt(bar.getAttribute("data-seen"), 10) || 0;
  }

  function show(data) {
    refresh();
    if (data.colleagues) current.colleagues = data.colleagues;
    if (typeof data.new_messages === "number") current.new_messages = data.new_messages;
    bar.textContent = "";
    current.colleagues.forEach(function (c, i) {
      if (i) bar.appendChild(document.createTextNode(" · "));
      var span = document.createElement("span");
      span.className = "presence-" + c.state;
      span.textContent = c.name + (c.state === "replying" ? " is typing a reply" : " is viewing this ticket");
      bar.appendChild(span);
    });
    if (current.new_messages) {
      if (current.colleagues.length) bar.appendChild(document.createTextNode(" · "));
      var link = document.createElement("a");
      link.href = window.location.pathname;
      link.className = "presence-new";
      link.textContent = current.new_messages + " new message" + (current.new_messages === 1 ? "" : "s") +
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

  var lastSeen = 0;

  function tick() {
    refresh();
    if (seen() !== lastSeen) {
      // The page was swapped in with newer messages: what was news is on screen now.
      if (lastSeen) current.new_messages = 0;
      lastSeen = seen();
    }
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "state", state: state() === "replying" ? "typing" : "viewing", seen: seen() }));
      return;
    }
    fetch(url, { method: "POST", body: send(state()), credentials: "same-origin", headers: { "X-CSRFToken": token } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) show(data); })
      .catch(function () {});
  }

  function poll() {
    // The fallback: the socket could not connect, or was lost.
    socket = null;
    if (polling) return;
    tick();
    polling = setInterval(tick, every);
  }

  function connect() {
    if (!socketUrl || !window.WebSocket) { poll(); return; }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    try {
      socket = new WebSocket(scheme + window.location.host + socketUrl);
    } catch (e) { poll(); return; }
    socket.addEventListener("open", function () {
      tick();
      // The heartbeat keeps this agent on the ticket (presence lapses after 30 s).
      setInterval(function () { if (socket) tick(); }, every);
    });
    socket.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "presence") show({ colleagues: frame.colleagues });
      else if (frame.type === "news") show({ new_messages: frame.new_messages });
    });
    socket.addEventListener("close", poll);
  }

  refresh();
  connect();
  var sent = "";
  document.addEventListener("input", function (event) {
    refresh();
    if (!reply || event.target !== reply) return;
    var now = state();
    if (now !== sent) { sent = now; tick(); }
  });
  window.addEventListener("pagehide", function () {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "state", state: "left" }));
      return;
    }
    if (navigator.sendBeacon) navigator.sendBeacon(url, send("left"));
  });
})();
