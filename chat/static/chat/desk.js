/* Agents' live-chat desk: presence, queue, my chats and one open conversation,
 * over /ws/console/chat/ (docs/chat-protocol.md, "Agent socket"). */
(function () {
  "use strict";
  var root = document.getElementById("chat-desk");
  if (!root) return;
  var $ = function (id) { return document.getElementById(id); };
  var ws = null, retry = 0, current = null, lastSeq = {}, pendingNodes = {}, typingTimer = null, typingSentAt = 0;
  var attachmentUrl = root.getAttribute("data-attachment-url");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function uid() { return (crypto.randomUUID ? crypto.randomUUID() : "a" + Date.now() + Math.random().toString(36).slice(2)); }
  function send(frame) { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; } return false; }
  function wait(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m ? m + " min " + s + " s" : s + " s";
  }
  function localTime(iso) { return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }

  function connect() {
    ws = new WebSocket(location.origin.replace(/^http/, "ws") + root.getAttribute("data-ws-path"));
    ws.onopen = function () {
      retry = 0;
      $("desk-conn").textContent = "Connected.";
      if (current) send({ type: "watch", session: current.session, last_seq: 0 });
    };
    ws.onmessage = function (e) { handle(JSON.parse(e.data)); };
    ws.onclose = function (e) {
      if (e.code === 4401) { $("desk-conn").textContent = "Signed out: sign in again to take chats."; return; }
      $("desk-conn").textContent = "Connection lost. Reconnecting…";
      setTimeout(connect, Math.min(15000, 500 * Math.pow(2, retry++)));
    };
  }
  setInterval(function () { send({ type: "ping" }); }, 20000);

  var snapshot = { waiting: [], mine: [] };
  var conductFlags = {};
  function showConductFlag(f) {
    var li = $("conv-log").querySelector("li[data-seq='" + f.message_seq + "']");
    if (!li || li.querySelector(".conduct-flag")) return;
    li.appendChild(el("p", { class: "conduct-flag severity-" + f.severity, role: "note",
      text: "⚠ Conduct flag · " + f.severity + " severity: " + f.labels.join(", ") }));
  }
  function handle(f) {
    switch (f.type) {
      case "queue": snapshot = f; renderLists(); break;
      case "offer": $("desk-conn").textContent = "A new chat was offered to you."; break;
      case "offer_withdrawn":
        $("desk-conn").textContent = f.reason === "timeout"
          ? "An offered chat was not accepted in time and went back to the queue."
          : "The chats offered to you went back to the queue.";
        break;
      case "history":
        if (!current || f.session !== current.session) return;
        $("conv-log").textContent = ""; lastSeq[f.session] = 0;
        f.entries.forEach(entry);
        break;
      case "message": case "agent_joined": case "agent_left": case "ended":
        if (current && f.session === current.session) entry(f);
        break;
      case "verified":
        // The customer proved their address mid-chat: the chat is their account's now.
        [snapshot.mine, snapshot.waiting].forEach(function (list) {
          list.forEach(function (s) { if (s.session === f.session) s.verified = true; });
        });
        if (current && f.session === current.session) { current.verified = true; showIdentity(current); }
        if (current && f.session === current.session) $("conv-log").appendChild(el("li", { class: "system", text: "The customer confirmed their email address." }));
        renderLists();
        break;
      case "conduct_flag":
        // May arrive before the message it flags: kept until that message is shown.
        conductFlags[f.session + ":" + f.message_seq] = f;
        if (current && f.session === current.session) showConductFlag(f);
        break;
      case "note":
        if (current && f.session === current.session) {
          $("conv-log").appendChild(el("li", { class: "note" }, [el("strong", { text: "Note · " + f.author + ": " }), el("span", { text: f.text })]));
        }
        break;
      case "typing":
        if (current && f.session === current.session && f.sender === "customer") {
          $("conv-typing").textContent = f.state ? "The customer is typing…" : "";
        }
        break;
      case "read":
        if (f.by === "customer") $("conv-typing").setAttribute("data-read", f.seq);
        document.querySelectorAll("#conv-log li.mine").forEach(function (li) {
          if (f.by === "customer" && +li.getAttribute("data-seq") <= f.seq) { var s = li.querySelector(".state"); if (s) s.textContent = "Read"; }
        });
        break;
      case "ack":
        var node = pendingNodes[f.client_id];
        if (node) { node.setAttribute("data-seq", f.seq); node.querySelector(".state").textContent = "Sent"; delete pendingNodes[f.client_id]; }
        break;
      case "error":
        $("desk-conn").textContent = f.detail;
        break;
    }
  }

  function renderLists() {
    var mine = $("mine"), queue = $("queue");
    mine.textContent = ""; queue.textContent = "";
    $("queue-count").textContent = snapshot.waiting.filter(function (s) { return s.state === "waiting"; }).length;
    if (!snapshot.mine.length) mine.appendChild(el("li", { class: "empty", text: "No chats yet." }));
    snapshot.mine.forEach(function (s) { mine.appendChild(item(s, true)); });
    var waiting = snapshot.waiting.filter(function (s) { return s.state === "waiting" || s.agent === null; });
    if (!waiting.length) queue.appendChild(el("li", { class: "empty", text: "Nobody is waiting." }));
    waiting.forEach(function (s) { queue.appendChild(item(s, false)); });
    $("presence").value = snapshot.presence;
  }

  function item(s, mine) {
    var label = s.name + " · " + s.subject;
    var waitNode = el("span", { class: "wait", "data-queued": s.queued_at, text: "waiting " + wait(s.wait_seconds) });
    var button;
    if (s.state === "active" && mine) button = el("button", { type: "button", text: "Open", "aria-label": "Open chat with " + s.name, onclick: function () { open(s); } });
    else button = el("button", { type: "button", class: "primary", text: "Accept", "aria-label": "Accept chat with " + s.name, onclick: function () { open(s); send({ type: "accept", session: s.session }); } });
    return el("li", { class: current && current.session === s.session ? "current" : "" }, [
      el("span", { class: "who", text: label }),
      s.verified === false ? el("span", { class: "badge unverified", text: "Email not verified" }) : null,
      el("span", { class: "meta", text: s.ticket + " · " + s.category.replace(/_/g, " ") + (s.platform === "app" ? " · app" : "") }),
      s.state === "active" ? null : waitNode, button,
    ]);
  }
  setInterval(function () {
    document.querySelectorAll(".wait[data-queued]").forEach(function (n) {
      n.textContent = "waiting " + wait(Math.max(0, Math.round((Date.now() - Date.parse(n.getAttribute("data-queued"))) / 1000)));
    });
  }, 1000);

  function open(s) {
    if (current && current.session !== s.session) send({ type: "unwatch", session: current.session });
    current = s;
    $("conv-empty").hidden = true; $("conv").hidden = false;
    $("conv-meta").textContent = s.name + " · " + s.ticket + " · " + s.subject;
    showIdentity(s);
    $("conv-ticket").href = "/console/tickets/" + s.ticket_id + "/";
    $("conv-log").textContent = ""; $("conv-typing").textContent = "";
    send({ type: "watch", session: s.session, last_seq: 0 });
    renderLists();
    $("conv-text").focus();
  }

  // A chat whose customer typed an address and has not proven it: nothing of the
  // account with that address (orders, requests) is theirs to be told.
  function showIdentity(s) {
    var note = $("conv-identity");
    note.hidden = s.verified !== false;
    note.textContent = s.verified === false
      ? "Email not verified: do not confirm or discuss orders or past requests. The customer can prove the address with a code from the chat."
      : "";
  }

  function entry(f) {
    if (f.seq <= (lastSeq[f.session] || 0)) return;
    lastSeq[f.session] = f.seq;
    var log = $("conv-log");
    if (f.type === "message") {
      if (f.sender === "agent" && f.client_id) {
        var mineNode = log.querySelector("li[data-client-id='" + f.client_id + "']");
        if (mineNode) { mineNode.setAttribute("data-seq", f.seq); mineNode.querySelector(".state").textContent = "Sent"; return; }
      }
      var li = el("li", { class: f.sender === "customer" ? "theirs" : "mine", "data-seq": f.seq }, [
        el("span", { class: "author", text: f.author }),
        f.text ? el("p", { text: f.text }) : null,
      ]);
      (f.attachments || []).forEach(function (a) {
        var href = attachmentUrl.replace("987654321", a.id);
        li.appendChild(a.type.indexOf("image/") === 0 ? el("img", { src: href, alt: a.name, class: "photo" }) : el("a", { href: href, text: a.name }));
      });
      li.appendChild(el("time", { datetime: f.sent_at, text: localTime(f.sent_at) }));
      if (f.sender !== "customer") li.appendChild(el("span", { class: "state", text: "Sent" }));
      log.appendChild(li);
      if (conductFlags[f.session + ":" + f.seq]) showConductFlag(conductFlags[f.session + ":" + f.seq]);
      if (f.sender === "customer") { $("conv-typing").textContent = ""; send({ type: "read", session: f.session, seq: f.seq }); }
    } else if (f.type === "agent_joined") {
      log.appendChild(el("li", { class: "system", text: f.agent + " joined." }));
    } else if (f.type === "agent_left") {
      log.appendChild(el("li", { class: "system", text: f.agent + (f.transferred ? " transferred the chat." : " left.") }));
    } else if (f.type === "ended") {
      log.appendChild(el("li", { class: "system", text: "Chat ended" + (f.for_conduct ? " for conduct: " : "") + (f.reason ? (f.for_conduct ? "" : ": ") + f.reason : ".") }));
    }
    log.scrollTop = log.scrollHeight;
  }

  $("presence").addEventListener("change", function (e) { send({ type: "presence", status: e.target.value }); });
  $("canned").addEventListener("change", function (e) {
    if (!e.target.value) return;
    var t = $("conv-text"); t.value = (t.value ? t.value + " " : "") + e.target.value; e.target.value = ""; t.focus();
  });
  $("conv-text").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("conv-form").requestSubmit(); }
  });
  $("conv-text").addEventListener("input", function () {
    if (!current || $("conv-note").checked) return;
    var now = Date.now();
    if (now - typingSentAt > 3000) { send({ type: "typing", session: current.session, state: true }); typingSentAt = now; }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { send({ type: "typing", session: current.session, state: false }); typingSentAt = 0; }, 4000);
  });
  $("conv-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("conv-text").value.trim();
    if (!text || !current) return;
    if ($("conv-note").checked) { send({ type: "note", session: current.session, text: text }); }
    else {
      var id = uid();
      var li = el("li", { class: "mine", "data-client-id": id }, [el("span", { class: "author", text: root.getAttribute("data-me") }), el("p", { text: text }), el("span", { class: "state", text: "Sending…" })]);
      $("conv-log").appendChild(li);
      pendingNodes[id] = li;
      send({ type: "message", session: current.session, client_id: id, text: text });
    }
    $("conv-text").value = "";
  });
  // Files go up over HTTP (the socket carries JSON only); the stored message comes back
  // through the socket like any other, with its photos.
  $("conv-files").addEventListener("change", function (e) {
    var files = e.target.files;
    if (!current || !files.length) return;
    var form = new FormData();
    Array.prototype.forEach.call(files, function (f) { form.append("files", f); });
    form.append("client_id", uid());
    var url = root.getAttribute("data-upload-url").replace("00000000-0000-0000-0000-000000000000", current.session);
    $("desk-conn").textContent = "Sending " + files.length + (files.length === 1 ? " file…" : " files…");
    fetch(url, { method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": root.getAttribute("data-csrf") } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        $("desk-conn").textContent = res.ok ? "Sent." : "Not sent: " + (res.body.detail || "the upload failed.");
      })
      .catch(function () { $("desk-conn").textContent = "Not sent: the connection failed. Try again."; })
      .then(function () { e.target.value = ""; });
  });
  $("transfer-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!current) return;
    var v = $("transfer-to").value.split(":");
    var frame = { type: "transfer", session: current.session };
    if (v[0] === "agent") frame.to_agent = +v[1]; else frame.to_team = v[1];
    send(frame);
  });
  $("end-chat").addEventListener("click", function () { if (current) send({ type: "end", session: current.session }); });
  $("terminate-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!current) return;
    send({ type: "terminate", session: current.session, reason: $("terminate-reason").value.trim() });
    $("terminate-reason").value = "";
  });
  connect();
})();
