/* Agents' live-chat desk: presence, queue, my chats and one open conversation,
 * over /ws/console/chat/ (docs/chat-protocol.md, "Agent socket").
 *
 * Chats that are not open still count: an "activity" frame for each new message of a
 * chat handled here updates its unread count, preview and place in the list (newest
 * first), the page title, and (if the agent turned them on) a sound and a browser
 * notification. Offers show as a banner with their wait time, derived from the queue
 * snapshot, so it never outlives the offer. */
(function () {
  "use strict";
  var root = document.getElementById("chat-desk");
  if (!root) return;
  var $ = function (id) { return document.getElementById(id); };
  var ws = null, retry = 0, current = null, lastSeq = {}, pendingNodes = {}, typingTimer = null, typingSentAt = 0;
  var attachmentUrl = root.getAttribute("data-attachment-url");
  var me = root.getAttribute("data-me"), meId = +root.getAttribute("data-me-id");
  var baseTitle = document.title;
  // The console's macros, with placeholders filled by the server for the open chat.
  var macros = [];
  // The macro whose text is in the composer: its use is counted when the text is sent.
  var macroInUse = null;
  var ALERTS = "izonie-desk-alerts";
  // Local changes since the last snapshot: { session: {unread, last_text, last_sender, last_at} }.
  var live = {};
  var offersSeen = {};
  var statusTimer = null;

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
  // Times in the team's zone, as everywhere in the console (the footer says so).
  var zone = root.getAttribute("data-zone") || undefined;
  function localTime(iso) {
    try { return new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: zone }); }
    catch (e) { return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
  }
  // A passing message in the status line: it clears itself, so it cannot go stale.
  function say(text, keep) {
    clearTimeout(statusTimer);
    $("desk-conn").textContent = text;
    if (!keep) statusTimer = setTimeout(function () { $("desk-conn").textContent = ws && ws.readyState === 1 ? "Connected." : ""; }, 8000);
  }

  function connect() {
    ws = new WebSocket(location.origin.replace(/^http/, "ws") + root.getAttribute("data-ws-path"));
    ws.onopen = function () {
      retry = 0;
      say("Connected.", true);
      if (current) send({ type: "watch", session: current.session, last_seq: 0 });
    };
    ws.onmessage = function (e) { handle(JSON.parse(e.data)); };
    ws.onclose = function (e) {
      if (e.code === 4401) { say("Signed out: sign in again to take chats.", true); return; }
      say("Connection lost. Reconnecting…", true);
      setTimeout(connect, Math.min(15000, 500 * Math.pow(2, retry++)));
    };
  }
  setInterval(function () { send({ type: "ping" }); }, 20000);

  // --- Alerts: sound and browser notification, opt-in; permission asked once, when
  // the agent turns them on (a click, as browsers require).
  var alertsBox = $("alerts");
  try { alertsBox.checked = localStorage.getItem(ALERTS) === "on"; } catch (e) { /* private mode */ }
  alertsBox.addEventListener("change", function () {
    try { localStorage.setItem(ALERTS, alertsBox.checked ? "on" : "off"); } catch (e) { /* ignore */ }
    if (alertsBox.checked && window.Notification && Notification.permission === "default") Notification.requestPermission();
  });
  var audio = null;
  function notify(title, text) {
    if (!alertsBox.checked) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.08;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.15);
    } catch (e) { /* no audio */ }
    if (window.Notification && Notification.permission === "granted" && (document.hidden || !document.hasFocus())) {
      try { new Notification(title, { body: text, tag: "izonie-desk" }); } catch (e) { /* ignore */ }
    }
  }

  var snapshot = { waiting: [], mine: [], agents: [] };
  var conductFlags = {};
  function showConductFlag(f) {
    var li = $("conv-log").querySelector("li[data-seq='" + f.message_seq + "']");
    if (!li || li.querySelector(".conduct-flag")) return;
    li.appendChild(el("p", { class: "conduct-flag severity-" + f.severity, role: "note",
      text: "⚠ Conduct flag · " + f.severity + " severity: " + f.labels.join(", ") }));
  }
  function summaryOf(session) {
    var found = null;
    [snapshot.mine, snapshot.waiting].forEach(function (list) {
      list.forEach(function (s) { if (s.session === session) found = s; });
    });
    return found;
  }
  function handle(f) {
    switch (f.type) {
      case "queue": onSnapshot(f); break;
      case "queue_waiting": onSharedQueue(f); break;
      case "offer": offersSeen[f.session] = true; renderOffers(); break;
      case "offer_withdrawn":
        say(f.reason === "timeout"
          ? "An offered chat was not accepted in time and went back to the queue."
          : "The chats offered to you went back to the queue.");
        break;
      case "activity": onActivity(f); break;
      case "history":
        // The answer to an accept (or to opening a chat): an offered chat of mine is
        // mine now. The banner goes at once, not with the next snapshot a second later.
        snapshot.mine.forEach(function (s) {
          if (s.session === f.session && s.state === "assigned") { s.state = "active"; renderLists(); }
        });
        if (!current || f.session !== current.session) return;
        $("conv-log").textContent = ""; lastSeq[f.session] = 0;
        f.entries.forEach(entry);
        break;
      case "message": case "agent_joined": case "agent_left": case "ended":
        if (current && f.session === current.session) entry(f);
        break;
      case "escalated":
        var esc = summaryOf(f.session); if (esc) esc.escalated = true;
        if (current && f.session === current.session) {
          current.escalated = true; showBanners();
          logAppend(el("li", { class: "system", text: "The customer asked for a supervisor" + (f.reason ? ": " + f.reason : ".") }));
        }
        renderLists();
        break;
      case "verified":
        // The customer proved their address mid-chat: the chat is their account's now.
        [snapshot.mine, snapshot.waiting].forEach(function (list) {
          list.forEach(function (s) { if (s.session === f.session) s.verified = true; });
        });
        if (current && f.session === current.session) {
          current.verified = true; showIdentity(current); loadVisitor(current); loadMacros(current);
          logAppend(el("li", { class: "system", text: "The customer confirmed their email address." }));
        }
        renderLists();
        break;
      case "conduct_flag":
        // May arrive before the message it flags: kept until that message is shown.
        conductFlags[f.session + ":" + f.message_seq] = f;
        var flagged = summaryOf(f.session); if (flagged) { flagged.conduct = true; renderLists(); }
        if (current && f.session === current.session) showConductFlag(f);
        break;
      case "note":
        if (current && f.session === current.session) {
          logAppend(el("li", { class: "note" }, [el("strong", { text: "Note · " + f.author + ": " }), el("span", { text: f.text })]));
        }
        break;
      case "typing":
        if (current && f.session === current.session && f.sender === "customer") {
          $("conv-typing").textContent = f.state ? "The customer is typing…" : "";
        }
        break;
      case "read":
        document.querySelectorAll("#conv-log li.mine").forEach(function (li) {
          if (f.by === "customer" && +li.getAttribute("data-seq") <= f.seq) { var s = li.querySelector(".state"); if (s) s.textContent = "Read"; }
        });
        break;
      case "ack":
        var node = pendingNodes[f.client_id];
        if (node) { node.setAttribute("data-seq", f.seq); node.querySelector(".state").textContent = "Sent"; delete pendingNodes[f.client_id]; }
        break;
      case "error":
        if (f.ref && pendingNodes[f.ref]) {
          pendingNodes[f.ref].querySelector(".state").textContent = "Not sent: " + f.detail;
          pendingNodes[f.ref].classList.add("failed");
          delete pendingNodes[f.ref];
        }
        if (f.code === "chat_ended" && current) readOnly("This chat has ended. It is read-only now.");
        say(f.detail);
        break;
    }
  }

  function onSnapshot(f) {
    snapshot = f;
    // The server's counts are the truth; local ones only bridge the second until then.
    live = {};
    var stillMine = {};
    snapshot.mine.forEach(function (s) { stillMine[s.session] = s; });
    if (current && !current.ended) {
      var fresh = stillMine[current.session];
      if (fresh) { fresh.unread = 0; current.state = fresh.state; current.handover = fresh.handover; current.escalated = fresh.escalated; showBanners(); }
      else if (current.state === "active" || current.state === "assigned") {
        readOnly(current.transferredTo ? "You transferred this chat to " + current.transferredTo + ". It is read-only here now." : "This chat is no longer yours. It is read-only here now.");
      }
    }
    renderLists();
    renderTransfer();
  }

  // The queue changed but this agent's own chats did not: the server sends the shared
  // part alone and the agent's list (with the counts bridged by activity frames) stays.
  function onSharedQueue(f) {
    snapshot.waiting = f.waiting; snapshot.agents = f.agents; snapshot.agents_online = f.agents_online;
    renderLists();
    renderTransfer();
  }

  function onActivity(f) {
    var s = summaryOf(f.session);
    var l = live[f.session] = live[f.session] || {};
    l.last_text = f.preview; l.last_sender = f.sender; l.last_at = f.sent_at;
    if (s) { s.last_text = f.preview; s.last_sender = f.sender; s.last_at = f.sent_at; }
    var open = current && current.session === f.session && !document.hidden;
    if (f.sender === "customer" && !open) {
      if (s) s.unread = (s.unread || 0) + 1;
      notify("New message from " + f.author, f.preview);
    }
    renderLists();
  }

  function unreadTotal() {
    return snapshot.mine.reduce(function (n, s) { return n + (current && current.session === s.session && !document.hidden ? 0 : (s.unread || 0)); }, 0);
  }
  // Offers to this agent, longest waiting first.
  function offered() {
    return snapshot.mine.filter(function (s) { return s.state === "assigned"; })
      .sort(function (a, b) { return Date.parse(a.queued_at) - Date.parse(b.queued_at); });
  }

  function renderOffers() {
    var box = $("offers"); box.textContent = "";
    offered().forEach(function (s) {
      box.appendChild(el("div", { class: "offer-banner", role: "alert", "data-session": s.session }, [
        el("strong", { text: "New chat offered to you" }),
        el("span", { text: s.name + " · " + s.subject }),
        el("span", { class: "wait", "data-queued": s.queued_at, text: "waiting " + wait(s.wait_seconds) }),
        el("button", { type: "button", class: "primary", text: "Accept", "aria-label": "Accept offered chat with " + s.name, onclick: function () { accept(s); } }),
      ]));
      if (!offersSeen[s.session + ":alerted"]) { offersSeen[s.session + ":alerted"] = true; notify("New chat offered", s.name + " · " + s.subject); }
    });
  }

  function updateTitle() {
    var n = unreadTotal() + offered().length;
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
    var badge = $("unread-total");
    var u = unreadTotal();
    badge.hidden = !u; badge.textContent = u + " unread";
  }

  function renderLists() {
    var mine = $("mine"), queue = $("queue");
    mine.textContent = ""; queue.textContent = "";
    $("queue-count").textContent = snapshot.waiting.filter(function (s) { return s.state === "waiting"; }).length;
    var sorted = snapshot.mine.slice().sort(function (a, b) { return Date.parse(b.last_at) - Date.parse(a.last_at); });
    if (!sorted.length) mine.appendChild(el("li", { class: "empty", text: "No chats yet." }));
    sorted.forEach(function (s) { mine.appendChild(item(s, true)); });
    var waiting = snapshot.waiting.filter(function (s) { return s.state === "waiting" || s.agent === null; });
    if (!waiting.length) queue.appendChild(el("li", { class: "empty", text: "Nobody is waiting." }));
    waiting.forEach(function (s) { queue.appendChild(item(s, false)); });
    if (snapshot.presence) $("presence").value = snapshot.presence;
    renderOffers();
    updateTitle();
  }

  function item(s, mine) {
    var isCurrent = current && current.session === s.session;
    var unread = isCurrent && !document.hidden ? 0 : (s.unread || 0);
    var waitNode = el("span", { class: "wait", "data-queued": s.queued_at, text: "waiting " + wait(s.wait_seconds) });
    var button;
    if (s.state === "active" && mine) button = el("button", { type: "button", text: "Open", "aria-label": "Open chat with " + s.name, onclick: function () { open(s); } });
    else button = el("button", { type: "button", class: "primary", text: "Accept", "aria-label": "Accept chat with " + s.name, onclick: function () { accept(s); } });
    var preview = s.last_text ? (s.last_sender === "customer" ? "" : s.last_sender === "agent" ? "Agent: " : "") + s.last_text : "";
    return el("li", { class: (isCurrent ? "current" : "") + (unread ? " unread" : ""), "data-session": s.session }, [
      el("span", { class: "who" }, [
        el("span", { text: s.name + " · " + s.subject }),
        unread ? el("span", { class: "badge count", text: String(unread), "aria-label": unread + " unread" }) : null,
      ]),
      el("span", { class: "markers" }, [
        s.escalated ? el("span", { class: "badge escalated", text: "Escalated" }) : null,
        s.conduct ? el("span", { class: "badge conduct", text: "Conduct flag" }) : null,
        s.verified === false ? el("span", { class: "badge unverified", text: "Email not verified" }) : null,
        s.handover && mine ? el("span", { class: "badge handover", text: "Handover note" }) : null,
      ]),
      preview ? el("span", { class: "preview", text: preview }) : null,
      el("span", { class: "meta", text: s.ticket + " · " + s.category.replace(/_/g, " ") + (s.platform === "app" ? " · app" : "") + (s.last_at ? " · " + localTime(s.last_at) : "") }),
      s.state === "active" ? null : waitNode, button,
    ]);
  }
  setInterval(function () {
    document.querySelectorAll(".wait[data-queued]").forEach(function (n) {
      n.textContent = "waiting " + wait(Math.max(0, Math.round((Date.now() - Date.parse(n.getAttribute("data-queued"))) / 1000)));
    });
  }, 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && current) { var s = summaryOf(current.session); if (s) s.unread = 0; markRead(); renderLists(); }
  });

  function renderTransfer() {
    var group = $("transfer-agents"); var chosen = $("transfer-to").value;
    group.textContent = "";
    var room = (snapshot.agents || []).filter(function (a) { return a.id !== meId && a.load < a.max_chats; });
    if (!room.length) group.appendChild(el("option", { disabled: "", text: "Nobody else online has room" }));
    room.forEach(function (a) {
      group.appendChild(el("option", { value: "agent:" + a.id, "data-name": a.name, text: a.name + " (" + a.load + " of " + a.max_chats + " chats)" }));
    });
    if (chosen) $("transfer-to").value = chosen;
  }

  function accept(s) { open(s); send({ type: "accept", session: s.session }); }

  function open(s) {
    if (current && current.session !== s.session) send({ type: "unwatch", session: current.session });
    current = { session: s.session, name: s.name, ticket: s.ticket, ticket_id: s.ticket_id, subject: s.subject, verified: s.verified,
      order_number: s.order_number || "", state: s.state, handover: s.handover, escalated: s.escalated, ended: false };
    s.unread = 0;
    $("conv-empty").hidden = true; $("conv").hidden = false;
    $("conv-meta").textContent = s.name + " · " + s.ticket + " · " + s.subject;
    showIdentity(current); showBanners(); writable(true);
    $("conv-ticket").href = "/console/tickets/" + s.ticket_id + "/";
    $("conv-log").textContent = ""; $("conv-typing").textContent = "";
    send({ type: "watch", session: s.session, last_seq: 0 });
    loadVisitor(current);
    macros = []; loadMacros(current);
    renderLists();
    $("conv-text").focus();
  }

  function loadVisitor(s) {
    var box = $("visitor");
    var url = root.getAttribute("data-visitor-url").replace("00000000-0000-0000-0000-000000000000", s.session);
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : ""; }).then(function (html) {
      if (!current || current.session !== s.session) return;
      box.innerHTML = html; // rendered by our own template, values escaped there
      box.hidden = !html;
    }).catch(function () { box.hidden = true; });
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
  function showBanners() {
    var h = $("conv-handover");
    h.hidden = !(current && current.handover);
    h.textContent = current && current.handover ? "Handover note from " + current.handover.by + ": " + current.handover.note : "";
    $("conv-escalated").hidden = !(current && current.escalated);
    $("conv-escalated").textContent = "The customer asked for a supervisor: see the ticket's escalation for the promised contact time.";
  }

  // Once a chat has ended (or left this agent), nothing in it can be sent or done.
  function writable(on) {
    $("conv-compose").disabled = !on;
    $("conv-controls").disabled = !on;
    $("conv-ended").hidden = on;
    if (on) $("conv-ended").textContent = "";
  }
  function readOnly(text) {
    if (!current) return;
    current.ended = true;
    writable(false);
    $("conv-ended").textContent = text;
    $("slash-list").hidden = true;
    Object.keys(pendingNodes).forEach(function (id) {
      var li = pendingNodes[id]; li.querySelector(".state").textContent = "Not sent: the chat has ended."; li.classList.add("failed");
      delete pendingNodes[id];
    });
  }

  function markRead() {
    if (!current || document.hidden) return;
    var seq = lastSeq[current.session];
    if (seq) send({ type: "read", session: current.session, seq: seq });
  }

  // A line added to the open conversation, scrolled into view (as entry() scrolls).
  function logAppend(li) {
    var log = $("conv-log");
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function entry(f) {
    if (f.seq <= (lastSeq[f.session] || 0)) return;
    lastSeq[f.session] = f.seq;
    var log = $("conv-log");
    if (f.type === "message") {
      if (f.sender === "agent" && f.client_id) {
        var mineNode = log.querySelector("li[data-client-id='" + f.client_id + "']");
        if (mineNode) { mineNode.setAttribute("data-seq", f.seq); mineNode.querySelector(".state").textContent = "Sent"; delete pendingNodes[f.client_id]; return; }
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
      if (f.sender === "customer") { $("conv-typing").textContent = ""; if (!document.hidden) send({ type: "read", session: f.session, seq: f.seq }); }
    } else if (f.type === "agent_joined") {
      log.appendChild(el("li", { class: "system", text: f.agent + " joined." }));
    } else if (f.type === "agent_left") {
      log.appendChild(el("li", { class: "system", text: f.agent + (f.transferred ? " transferred the chat." : " left.") }));
    } else if (f.type === "ended") {
      var text = "Chat ended" + (f.for_conduct ? " for conduct: " : "") + (f.reason ? (f.for_conduct ? "" : ": ") + f.reason : ".");
      log.appendChild(el("li", { class: "system", text: text }));
      readOnly(text + " It is read-only now.");
    }
    log.scrollTop = log.scrollHeight;
  }

  // --- Slash commands: "/gre" offers the macros whose shortcut (or a word of whose
  // title) starts with "gre"; Tab or Enter puts its text in, filled by the server for
  // the open chat (the same macros and placeholders as the console's reply box). A
  // placeholder left unfilled is selected, so the agent types over it.
  var slashIndex = 0;
  function loadMacros(s) {
    var url = root.getAttribute("data-macros-url").replace("00000000-0000-0000-0000-000000000000", s.session);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { macros: [] }; })
      .then(function (data) {
        if (!current || current.session !== s.session) return;
        macros = data.macros || [];
        var pick = $("macro-pick");
        pick.textContent = "";
        pick.appendChild(el("option", { value: "", text: macros.length ? "Choose…" : "No macros yet" }));
        macros.forEach(function (m) {
          pick.appendChild(el("option", { value: String(m.id), text: "/" + m.shortcut + " — " + m.title + (m.shared ? "" : " (personal)") }));
        });
        renderSlash();
      })
      .catch(function () { macros = []; });
  }
  function slashMatches() {
    var m = /^\/([\w-]*)$/.exec($("conv-text").value);
    if (!m) return null;
    var q = m[1].toLowerCase();
    var byShortcut = macros.filter(function (c) { return c.shortcut.toLowerCase().indexOf(q) === 0; });
    var byTitle = macros.filter(function (c) {
      return byShortcut.indexOf(c) < 0 && c.title.toLowerCase().split(/[^a-z0-9]+/).some(function (w) { return q && w.indexOf(q) === 0; });
    });
    return byShortcut.concat(byTitle).slice(0, 8);
  }
  function renderSlash() {
    var list = $("slash-list"), found = slashMatches();
    list.textContent = "";
    if (!found || !found.length) { list.hidden = true; $("conv-text").removeAttribute("aria-activedescendant"); return; }
    slashIndex = Math.min(slashIndex, found.length - 1);
    found.forEach(function (c, i) {
      list.appendChild(el("li", { role: "option", id: "slash-" + i, "aria-selected": i === slashIndex ? "true" : "false",
        onmousedown: function (e) { e.preventDefault(); expand(c); } }, [
        el("strong", { text: "/" + c.shortcut }), el("span", { text: " " + c.title }),
        el("span", { class: "slash-body", text: c.body.slice(0, 90) + (c.body.length > 90 ? "…" : "") }),
      ]));
    });
    list.hidden = false;
    $("conv-text").setAttribute("aria-activedescendant", "slash-" + slashIndex);
  }
  function expand(c, keep) {
    var t = $("conv-text");
    macroInUse = c.id;
    var start = keep ? t.value.length + (t.value ? 1 : 0) : 0;
    t.value = keep && t.value ? t.value + " " + c.body : c.body;
    $("slash-list").hidden = true;
    t.removeAttribute("aria-activedescendant");
    t.focus();
    var left = /\{\{[^}]*\}\}/.exec(t.value.slice(start));
    if (left) t.setSelectionRange(start + left.index, start + left.index + left[0].length);
    else t.setSelectionRange(t.value.length, t.value.length);
  }

  $("presence").addEventListener("change", function (e) { send({ type: "presence", status: e.target.value }); });
  $("macro-pick").addEventListener("change", function (e) {
    var c = macros.filter(function (x) { return String(x.id) === e.target.value; })[0];
    e.target.value = "";
    if (c) expand(c, !/^\/[\w-]*$/.test($("conv-text").value));
  });
  $("conv-text").addEventListener("keydown", function (e) {
    var found = !$("slash-list").hidden && slashMatches();
    if (found && found.length) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); slashIndex = (slashIndex + (e.key === "ArrowDown" ? 1 : found.length - 1)) % found.length; renderSlash(); return; }
      if (e.key === "Tab" || e.key === "Enter") { e.preventDefault(); expand(found[slashIndex]); return; }
      if (e.key === "Escape") { $("slash-list").hidden = true; return; }
    }
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("conv-form").requestSubmit(); }
  });
  $("conv-text").addEventListener("input", function () {
    slashIndex = 0; renderSlash();
    if (!current || current.ended || $("conv-note").checked) return;
    var now = Date.now();
    if (now - typingSentAt > 3000) { send({ type: "typing", session: current.session, state: true }); typingSentAt = now; }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { if (current) send({ type: "typing", session: current.session, state: false }); typingSentAt = 0; }, 4000);
  });
  $("conv-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("conv-text").value.trim();
    if (!text || !current || current.ended) return;
    if ($("conv-note").checked) { send({ type: "note", session: current.session, text: text }); }
    else {
      var id = uid();
      var li = el("li", { class: "mine", "data-client-id": id }, [el("span", { class: "author", text: me }), el("p", { text: text }), el("span", { class: "state", text: "Sending…" })]);
      logAppend(li);
      pendingNodes[id] = li;
      if (!send({ type: "message", session: current.session, client_id: id, text: text })) {
        li.querySelector(".state").textContent = "Not sent: the connection is down. Send it again when reconnected.";
        delete pendingNodes[id];
      }
      var s = summaryOf(current.session);
      if (s) { s.last_text = text; s.last_sender = "agent"; s.last_at = new Date().toISOString(); renderLists(); }
      if (macroInUse) {
        fetch(root.getAttribute("data-macro-used-url").replace("987654321", macroInUse), {
          method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": root.getAttribute("data-csrf") },
        }).catch(function () { /* a missed count is harmless */ });
      }
    }
    macroInUse = null;
    $("conv-text").value = "";
  });
  // Files go up over HTTP (the socket carries JSON only); the stored message comes back
  // through the socket like any other, with its photos.
  $("conv-files").addEventListener("change", function (e) {
    var files = e.target.files;
    if (!current || current.ended || !files.length) return;
    var form = new FormData();
    Array.prototype.forEach.call(files, function (f) { form.append("files", f); });
    form.append("client_id", uid());
    var url = root.getAttribute("data-upload-url").replace("00000000-0000-0000-0000-000000000000", current.session);
    say("Sending " + files.length + (files.length === 1 ? " file…" : " files…"), true);
    fetch(url, { method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": root.getAttribute("data-csrf") } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) { say(res.ok ? "Sent." : "Not sent: " + (res.body.detail || "the upload failed.")); })
      .catch(function () { say("Not sent: the connection failed. Try again."); })
      .then(function () { e.target.value = ""; });
  });
  $("transfer-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!current || current.ended) return;
    var select = $("transfer-to"), option = select.options[select.selectedIndex];
    if (!option || option.disabled) return;
    var v = select.value.split(":");
    var frame = { type: "transfer", session: current.session, note: $("transfer-note").value.trim() };
    if (v[0] === "agent") frame.to_agent = +v[1]; else frame.to_team = v[1];
    current.transferredTo = v[0] === "agent" ? option.getAttribute("data-name") : option.textContent;
    if (send(frame)) { $("transfer-note").value = ""; say("Transferring to " + current.transferredTo + "…"); }
  });
  $("end-chat").addEventListener("click", function () {
    if (!current || current.ended) return;
    if (!window.confirm("End the chat with " + current.name + "? They can still rate it and ask for the transcript.")) return;
    send({ type: "end", session: current.session });
  });
  $("terminate-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!current || current.ended) return;
    var reason = $("terminate-reason").value.trim();
    if (!window.confirm("End the chat with " + current.name + " for conduct? This is recorded as a conduct termination, and the customer is shown: “" + reason + "”")) return;
    send({ type: "terminate", session: current.session, reason: reason });
    $("terminate-reason").value = "";
  });
  connect();
})();
