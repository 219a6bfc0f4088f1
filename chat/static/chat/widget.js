/* Izonie live-chat widget. One file, no dependencies.
 *
 * Embed:  <script src="https://support.izonie.com/static/chat/widget.js" defer
 *                 data-izonie-chat data-platform="web"></script>
 * The protocol it speaks is docs/chat-protocol.md; a mobile app implements the same.
 */
(function () {
  "use strict";
  if (window.IzonieChat) return;

  var script = document.currentScript || document.querySelector("script[data-izonie-chat]");
  var base = new URL(script.src, location.href);
  var origin = base.origin;
  var platform = (script && script.getAttribute("data-platform")) || "web";
  var STORE = "izonie-chat:" + origin;
  var state = {
    status: null, ws: null, token: null, session: null, lastSeq: 0, pending: {},
    agentRead: 0, ended: false, retry: 0, typingSentAt: 0, typingTimer: null,
    closedByUs: false, rated: false, view: null, lastFrameAt: 0, unread: 0, readSeq: 0,
  };
  // How often the status is asked again while the panel waits (offline or pre-chat),
  // and the socket's heartbeat: a ping every HEARTBEAT_MS; no frame at all for
  // HEARTBEAT_MS + PONG_GRACE_MS means the connection is dead, even if the browser
  // has not noticed (a laptop lid, a lost Wi-Fi).
  var STATUS_POLL_MS = 15000, HEARTBEAT_MS = 15000, PONG_GRACE_MS = 8000;
  // While the open panel waits ("Leave a message" or the pre-chat form), the server's
  // hint is polled this often: a tiny answer ("can a chat start now?") shared by every
  // widget and cached for 2 s, so an agent coming online shows within seconds.
  var PULSE_MS = 3000;

  // --- Small DOM helpers
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
  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  // Times are in the team's zone (the policy's, e.g. Africa/Lagos) everywhere in the
  // widget, with the viewer's own beside them when it differs.
  function teamZone() { return (state.status && state.status.time_zone) || undefined; }
  function fmt(iso, opts, zone) {
    var o = {}; Object.keys(opts).forEach(function (k) { o[k] = opts[k]; });
    if (zone) o.timeZone = zone;
    try { return new Date(iso).toLocaleString("en-GB", o); } catch (e) { delete o.timeZone; return new Date(iso).toLocaleString("en-GB", o); }
  }
  function zonesDiffer(iso) {
    var opts = { hour: "2-digit", minute: "2-digit", weekday: "short" };
    return teamZone() && fmt(iso, opts, teamZone()) !== fmt(iso, opts);
  }
  function localTime(iso) {
    var t = fmt(iso, { hour: "2-digit", minute: "2-digit" }, teamZone());
    return zonesDiffer(iso) ? t + " (" + fmt(iso, { hour: "2-digit", minute: "2-digit" }) + " your time)" : t;
  }
  function localMoment(iso) {
    var opts = { weekday: "long", hour: "2-digit", minute: "2-digit" };
    var team = fmt(iso, opts, teamZone()) + (teamZone() ? " (" + teamZone() + ")" : "");
    return zonesDiffer(iso) ? team + ", " + fmt(iso, opts) + " your time" : team;
  }
  function save() {
    try {
      if (state.token && !state.ended) localStorage.setItem(STORE, JSON.stringify({ token: state.token }));
      else localStorage.removeItem(STORE);
    } catch (e) { /* private mode: resume works for this page only */ }
  }
  function saved() {
    try { return JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { return null; }
  }
  // This tab's own memory (sessionStorage): whether the panel was open, what was read,
  // and messages not yet acknowledged, so a reload loses none of them; they are sent
  // again once, with their client ids, when the socket is back.
  function tabGet(key, fallback) {
    try { var v = sessionStorage.getItem(STORE + ":" + key); return v === null ? fallback : JSON.parse(v); } catch (e) { return fallback; }
  }
  function tabSet(key, value) {
    try { sessionStorage.setItem(STORE + ":" + key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  function saveOutbox() {
    tabSet("outbox", Object.keys(state.pending).map(function (id) {
      var p = state.pending[id]; return { client_id: id, text: p.frame.text, at: p.at };
    }));
  }

  // --- Styles and the shell
  var css = el("link", { rel: "stylesheet", href: new URL("widget.css", base).href });
  document.head.appendChild(css);

  var launcher = el("button", {
    type: "button", class: "izc-launcher", "aria-haspopup": "dialog", "aria-expanded": "false",
    onclick: function () { toggle(true); },
  }, [el("span", { class: "izc-dot", "aria-hidden": "true" }), el("span", { text: "Chat with us" }),
       el("span", { class: "izc-sr" }), el("span", { class: "izc-unread", hidden: "" })]);
  // The dot says whether chat is open now; the badge counts agent messages unseen.
  function renderLauncher() {
    var dot = launcher.querySelector(".izc-dot"), sr = launcher.querySelector(".izc-sr"), badge = launcher.querySelector(".izc-unread");
    var s = state.status, live = state.token && !state.ended;
    var stateName = live ? "chat" : !s ? "unknown" : s.can_start ? "open" : "closed";
    dot.setAttribute("data-state", stateName);
    sr.textContent = live ? " (chat in progress)" : stateName === "open" ? " (online)" : stateName === "closed" ? " (leave a message)" : "";
    badge.hidden = !state.unread;
    badge.textContent = state.unread ? String(state.unread) : "";
    badge.setAttribute("aria-label", state.unread + " unread");
  }
  var title = el("h2", { id: "izc-title", class: "izc-title", text: "Izonie Support chat" });
  var statusLine = el("p", { class: "izc-status", role: "status", "aria-live": "polite" });
  var closeBtn = el("button", {
    type: "button", class: "izc-close", "aria-label": "Close chat window",
    onclick: function () { toggle(false); },
  }, [el("span", { "aria-hidden": "true", text: "×" })]);
  var body = el("div", { class: "izc-body" });
  var panel = el("section", {
    class: "izc-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "izc-title", hidden: "",
  }, [el("header", { class: "izc-head" }, [title, closeBtn]), statusLine, body]);
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") toggle(false); });
  var root = el("div", { class: "izc-root", "data-izonie-chat-root": "" }, [launcher, panel]);
  document.body.appendChild(root);

  function toggle(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    tabSet("open", open);
    if (open) {
      state.unread = 0; renderLauncher();
      if (state.lastSeq) { state.readSeq = state.lastSeq; tabSet("read", state.readSeq); frame({ type: "read", seq: state.lastSeq }); }
      if (!state.status || !state.view) boot(); else if (!state.token) recheck();
      var first = panel.querySelector("input, select, textarea, button:not(.izc-close)");
      (first || closeBtn).focus();
    } else {
      launcher.focus();
    }
  }
  function setStatus(text) { statusLine.textContent = text; }
  function clear() { while (body.firstChild) body.removeChild(body.firstChild); }

  function api(path, options) {
    return fetch(new URL(path, origin).href, options || {}).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, status: r.status, data: data }; });
    });
  }

  function boot() {
    if (state.booting) return;
    state.booting = true;
    api("/chat/status", { credentials: "same-origin" }).then(function (r) {
      state.booting = false;
      state.status = r.data;
      var stored = saved();
      if (stored && stored.token) {
        state.token = stored.token; state.readSeq = tabGet("read", 0);
        showConversation(); restoreOutbox(); connect(); renderLauncher(); return;
      }
      renderLauncher();
      if (r.data.can_start) showPrechat(); else showOffline();
    }).catch(function () { state.booting = false; setStatus("Chat could not load. Check your connection and try again."); });
  }

  // Availability changes while the panel waits (an agent comes online, chat hours
  // begin or end): asked again every STATUS_POLL_MS, when the tab comes back into view,
  // and when the server says so ("chat_closed" / "no_agents" on start). What was typed
  // is kept across the switch.
  function recheck() {
    if (state.token || state.startFrame) return;
    api("/chat/status", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok || state.token || state.startFrame) return;
      var was = state.status && state.status.can_start;
      state.status = r.data;
      renderLauncher();
      if (state.view === "offline" && r.data.can_start) showPrechat(typed());
      else if (state.view === "prechat" && !r.data.can_start) showOffline(typed());
      else if (state.view === "offline" && !was) refreshOfflineStatus();
    }).catch(function () { /* next time */ });
  }
  setInterval(function () { if (!document.hidden) recheck(); }, STATUS_POLL_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) recheck(); });
  setInterval(function () {
    if (document.hidden || panel.hidden || state.token || state.startFrame || !state.status) return;
    if (state.view !== "offline" && state.view !== "prechat") return;
    api("/chat/status/pulse").then(function (r) {
      if (r.ok && state.status && r.data.can_start !== state.status.can_start) recheck();
    }).catch(function () { /* next time */ });
  }, PULSE_MS);
  function typed() {
    var values = {};
    body.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (n) { values[n.name] = n.value; });
    return values;
  }
  function restore(form, values) {
    Object.keys(values || {}).forEach(function (k) {
      var n = form.querySelector("[name='" + k + "']");
      if (n && values[k]) n.value = values[k];
    });
  }

  // --- Forms
  function field(label, input, hint) {
    var id = "izc-" + input.name;
    input.id = id;
    var hintNode = hint ? el("small", { id: id + "-hint", text: hint }) : null;
    if (hint) input.setAttribute("aria-describedby", id + "-hint");
    var error = el("small", { class: "izc-error", id: id + "-error", "aria-live": "polite" });
    return el("div", { class: "izc-field" }, [el("label", { for: id, text: label }), input, hintNode, error]);
  }
  function categorySelect() {
    var select = el("select", { name: "category", required: "" }, [el("option", { value: "", text: "Choose a topic" })]);
    state.status.categories.forEach(function (c) { select.appendChild(el("option", { value: c.key, text: c.name })); });
    return select;
  }
  // A signed-in customer is not asked who they are.
  function whoFields() {
    var me = state.status.signed_in;
    if (me) return [el("p", { class: "izc-signed-in", text: "Signed in as " + me.name + (me.email ? " (" + me.email + ")" : "") + "." })];
    return [
      field("Your name", el("input", { name: "name", autocomplete: "name", required: "" })),
      field("Email", el("input", { name: "email", type: "email", autocomplete: "email", required: "" }), "For the transcript, and our reply if the chat drops."),
    ];
  }
  // Every field's problem at once, before anything is sent.
  function checkForm(form) {
    var problems = {};
    var value = function (name) { var n = form.querySelector("[name='" + name + "']"); return n ? n.value.trim() : null; };
    if (value("name") === "") problems.name = "Tell us your name.";
    var email = value("email");
    if (email === "") problems.email = "Enter your email address.";
    else if (email !== null && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) problems.email = "Enter a valid email address.";
    if (value("category") === "") problems.category = "Choose a topic.";
    if (value("text") === "") problems.text = "Write your message.";
    var order = form.querySelector("[name='order_number']");
    if (order && !orderCheck(order)) problems.order_number = "Izonie order numbers look like " + state.status.order_number.example + ".";
    return problems;
  }
  function showErrors(form, data) {
    form.querySelectorAll(".izc-error").forEach(function (n) { n.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    var fields = (data && data.fields) || {};
    var shown = false;
    var names = Object.keys(fields);
    if (names.length > 1) setStatus("Please fix " + names.length + " fields below.");
    names.forEach(function (name) {
      var input = form.querySelector("[name='" + name + "']");
      var slot = form.querySelector("#izc-" + name + "-error");
      if (input && slot) { slot.textContent = fields[name]; input.setAttribute("aria-invalid", "true"); if (!shown) input.focus(); shown = true; }
    });
    if (!shown) setStatus((data && data.detail) || "Something went wrong. Please try again.");
  }
  function orderCheck(input) {
    var value = input.value.trim().replace(/^#/, "").toUpperCase();
    if (!value) return true;
    return new RegExp("^(?:" + state.status.order_number.pattern + ")$").test(value);
  }

  function showPrechat(values) {
    clear();
    state.view = "prechat";
    setStatus("We're online. An agent usually answers within a few minutes.");
    var orderInput = el("input", { name: "order_number", autocomplete: "off", inputmode: "text", placeholder: "e.g. " + state.status.order_number.example });
    var question = el("textarea", { name: "text", rows: "3", required: "" });
    var help = el("div", { class: "izc-suggest", hidden: "", "aria-live": "polite" });
    suggestWhileTyping(question, help, "pre_chat");
    var form = el("form", { class: "izc-form", novalidate: "" }, whoFields().concat([
      field("Topic", categorySelect()),
      field("Order number (optional)", orderInput, "Format example: " + state.status.order_number.example),
      field("How can we help?", question),
      help,
      el("button", { type: "submit", class: "izc-primary", text: "Start chat" }),
    ]));
    restore(form, values);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var problems = checkForm(form);
      if (Object.keys(problems).length) { showErrors(form, { fields: problems }); return; }
      var data = new FormData(form);
      var me = state.status.signed_in || {};
      state.startFrame = {
        type: "start", client_id: uid(), platform: platform,
        name: data.get("name") || me.name || "", email: data.get("email") || me.email || "", category: data.get("category"),
        order_number: data.get("order_number"), text: data.get("text"),
        // Context for the agent: the page the chat starts from and where the visitor came from.
        page_url: location.href.slice(0, 500), referrer: (document.referrer || "").slice(0, 500),
      };
      state.prechatForm = form;
      setStatus("Connecting…");
      connect();
    });
    body.appendChild(form);
  }

  function suggestions(container, text, source) {
    // Help Center articles for what the customer is typing (GET /help/api/suggestions);
    // "This answered my question" is recorded as a request avoided.
    var q = text.trim();
    if (q.length < 4) { container.hidden = true; return; }
    api("/help/api/suggestions?limit=3&source=" + source + "&q=" + encodeURIComponent(q)).then(function (r) {
      var items = (r.ok && r.data && r.data.results) || [];
      while (container.firstChild) container.removeChild(container.firstChild);
      if (!items.length) { container.hidden = true; return; }
      container.appendChild(el("p", { text: "These articles may answer it right away:" }));
      var list = el("ul");
      items.forEach(function (a) {
        var done = el("button", { type: "button", class: "izc-link", text: "This answered my question" });
        done.addEventListener("click", function () {
          api("/help/api/deflections", {
            method: "POST", headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ article_id: a.id, source: source, query: q }),
          }).then(function () { setStatus("Glad that helped. You can close this window."); });
        });
        list.appendChild(el("li", {}, [
          el("a", { href: new URL(a.url, origin).href, target: "_blank", rel: "noopener", text: a.title }), el("br"), done,
        ]));
      });
      container.appendChild(list);
      container.hidden = false;
    }).catch(function () { container.hidden = true; });
  }

  function suggestWhileTyping(textarea, container, source) {
    var timer = null;
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { suggestions(container, textarea.value, source); }, 300);
    });
  }

  function refreshOfflineStatus() {
    var s = state.status;
    var why = s.reason === "closed"
      ? "Live chat is closed now." + (s.holiday ? " Today is " + s.holiday + "." : "")
      : "No agent is available right now.";
    var next = s.next_open_at ? " It opens again " + localMoment(s.next_open_at) + "." : "";
    setStatus(why + next);
  }
  function showOffline(values) {
    clear();
    state.view = "offline";
    var s = state.status;
    refreshOfflineStatus();
    body.appendChild(el("div", { class: "izc-offline" }, [
      el("p", { class: "izc-hours", text: "Chat hours: " + s.hours.join("; ") + " (" + s.time_zone + ")." }),
      el("p", { text: "Leave a message and we will answer by email. " + (s.offline_reply_promise || "") }),
    ]));
    var help = el("div", { class: "izc-suggest", hidden: "", "aria-live": "polite" });
    var text = el("textarea", { name: "text", rows: "4", required: "" });
    suggestWhileTyping(text, help, "chat_offline");
    var form = el("form", { class: "izc-form", novalidate: "" }, whoFields().concat([
      field("Topic", categorySelect()),
      field("Order number (optional)", el("input", { name: "order_number", autocomplete: "off", placeholder: "e.g. " + s.order_number.example }), "Format example: " + s.order_number.example),
      field("Your message", text),
      help,
      el("button", { type: "submit", class: "izc-primary", text: "Leave a message" }),
    ]));
    restore(form, values);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var problems = checkForm(form);
      if (Object.keys(problems).length) { showErrors(form, { fields: problems }); return; }
      var data = { page_url: location.href.slice(0, 500), referrer: (document.referrer || "").slice(0, 500) };
      new FormData(form).forEach(function (v, k) { data[k] = v; });
      api("/chat/offline-message", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data), credentials: "same-origin",
      }).then(function (r) {
        if (!r.ok) { showErrors(form, r.data); return; }
        clear();
        state.view = "done";
        setStatus("Message received.");
        body.appendChild(el("div", { class: "izc-done" }, [
          el("p", { text: "Thank you. Your request is " + r.data.reference + "." }),
          el("p", { text: r.data.reply_promise }),
          r.data.verify_link_sent ? el("p", { text: "We've also emailed you a link: open it to confirm the address is yours, so we can look at your orders." }) : null,
        ]));
      });
    });
    body.appendChild(form);
  }

  // --- The conversation
  var log, composer, typingLine, fileInput, actions, verifyBox;

  // --- Proving the email address (docs/chat-protocol.md, "verify_request" and "verify").
  // Until then the agent is told the address is not verified and will not discuss the
  // account's orders; a code sent to the address proves it without signing in.
  function showVerify(stage, email) {
    while (verifyBox.firstChild) verifyBox.removeChild(verifyBox.firstChild);
    verifyBox.hidden = false;
    if (stage === "offer") {
      verifyBox.appendChild(el("p", { text: "Your email address is not verified yet. To let the agent look at your orders, confirm it with a code we email you." }));
      verifyBox.appendChild(el("button", { type: "button", class: "izc-link", text: "Email me a code", onclick: function () { frame({ type: "verify_request" }); } }));
      return;
    }
    var input = el("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "7", pattern: "[0-9 ]*" });
    var form = el("form", { class: "izc-form izc-verify-form", novalidate: "" }, [
      field("Code sent to " + email, input, "6 digits; it works for " + Math.round((state.codeTtl || 600) / 60) + " minutes."),
      el("div", { class: "izc-verify-actions" }, [
        el("button", { type: "submit", class: "izc-primary", text: "Confirm" }),
        el("button", { type: "button", class: "izc-link", text: "Send a new code", onclick: function () { frame({ type: "verify_request" }); } }),
      ]),
    ]);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var code = input.value.replace(/\s/g, "");
      if (!/^[0-9]{6}$/.test(code)) { showErrors(form, { fields: { code: "The code is the 6 digits in the email." } }); return; }
      frame({ type: "verify", code: code });
    });
    verifyBox.appendChild(form);
    input.focus();
  }
  function verifyError(f) {
    var form = verifyBox && verifyBox.querySelector("form");
    if (form) showErrors(form, { detail: f.detail, fields: { code: f.detail } });
    else setStatus(f.detail);
  }

  function showConversation() {
    clear();
    state.view = "chat";
    log = el("ol", { class: "izc-log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
    typingLine = el("p", { class: "izc-typing", "aria-live": "polite" });
    composer = el("textarea", { name: "message", rows: "2", "aria-label": "Type your message", placeholder: "Type your message…" });
    composer.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendText(); }
    });
    composer.addEventListener("input", typing);
    fileInput = el("input", { type: "file", name: "files", accept: (state.status ? state.status.attachments.types.join(",") : "image/*,application/pdf"), multiple: "", class: "izc-file", id: "izc-file" });
    fileInput.addEventListener("change", upload);
    var send = el("button", { type: "button", class: "izc-primary", text: "Send", onclick: sendText });
    actions = el("div", { class: "izc-actions" }, [
      el("label", { for: "izc-file", class: "izc-attach", text: "Attach photo" }), fileInput,
      el("button", { type: "button", text: "Escalate to a Supervisor", onclick: escalate }),
      el("button", { type: "button", text: "Email me the transcript", onclick: function () { frame({ type: "transcript" }); } }),
      el("button", { type: "button", text: "End chat", onclick: function () { if (window.confirm("End this chat?")) frame({ type: "end" }); } }),
    ]);
    verifyBox = el("div", { class: "izc-verify", hidden: "", "aria-live": "polite" });
    body.appendChild(verifyBox);
    body.appendChild(log);
    body.appendChild(typingLine);
    body.appendChild(el("div", { class: "izc-compose" }, [composer, send]));
    body.appendChild(actions);
    // The pre-chat form that had focus is gone: keep keyboard users inside the dialog.
    if (!panel.hidden) composer.focus();
  }

  function frame(obj) {
    if (state.ws && state.ws.readyState === 1) { state.ws.send(JSON.stringify(obj)); return true; }
    return false;
  }

  function connect() {
    var url = (origin.replace(/^http/, "ws")) + (state.status ? state.status.websocket_path : "/ws/chat/");
    state.closedByUs = false;
    var ws = new WebSocket(url);
    state.ws = ws;
    ws.onopen = function () {
      state.retry = 0;
      state.lastFrameAt = Date.now();
      if (state.token) frame({ type: "resume", token: state.token, last_seq: state.lastSeq });
      else if (state.startFrame) frame(state.startFrame);
    };
    ws.onmessage = function (e) {
      state.lastFrameAt = Date.now();
      var data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      handle(data);
    };
    ws.onclose = function (e) {
      if (state.ended || state.closedByUs) return;
      if (e.code === 4401 || e.code === 4403) {
        state.token = null; save();
        setStatus("This chat is no longer available. Start a new one.");
        if (state.status && state.status.can_start) showPrechat();
        return;
      }
      retryLater();
    };
  }
  function retryLater() {
    reconnecting(true);
    setTimeout(connect, Math.min(30000, 500 * Math.pow(2, state.retry++)));
  }
  // A connection found dead (no frame for too long, the browser offline): a close
  // handshake on a dead connection can take minutes, so it is dropped at once.
  function drop(ws) {
    ws.onclose = null; ws.onmessage = null;
    try { ws.close(); } catch (e) { /* already closed */ }
    if (state.ws === ws && !state.ended) retryLater();
  }
  function reconnecting(on) {
    panel.classList.toggle("izc-reconnecting", on);
    if (on) setStatus("Reconnecting… Messages you send now go out when the connection is back.");
  }
  setInterval(function () {
    var ws = state.ws;
    if (!ws || ws.readyState !== 1 || state.ended) return;
    var now = Date.now();
    if (now - state.lastFrameAt > HEARTBEAT_MS + PONG_GRACE_MS) { drop(ws); return; }
    if (now - (state.pingAt || 0) >= HEARTBEAT_MS) { state.pingAt = now; frame({ type: "ping" }); }
  }, HEARTBEAT_MS / 3);
  window.addEventListener("offline", function () { if (state.ws && state.token && !state.ended) drop(state.ws); });

  function handle(f) {
    switch (f.type) {
      case "welcome":
        state.token = f.token; state.session = f.session; save();
        if (!log) showConversation();
        if (f.state === "ended") { state.ended = true; showEnded({}); }
        else if (f.verified === false && verifyBox.hidden) showVerify("offer");
        else if (f.verified) verifyBox.hidden = true;
        reconnecting(false);
        setStatus(f.agent ? "You're chatting with " + f.agent + "." : "You're in the queue. An agent will join shortly.");
        renderLauncher();
        Object.keys(state.pending).forEach(function (id) { frame(state.pending[id].frame); });
        break;
      case "ack":
        var pending = state.pending[f.client_id];
        if (pending) { pending.node.setAttribute("data-seq", f.seq); mark(pending.node, "Sent"); delete state.pending[f.client_id]; saveOutbox(); }
        break;
      case "message":
      case "agent_joined":
      case "agent_left":
      case "ended":
        entry(f);
        break;
      case "typing":
        if (f.sender === "agent") {
          typingLine.textContent = f.state ? "The agent is typing…" : "";
        }
        break;
      case "read":
      case "delivered":
        if (f.by === "agent") {
          state.agentRead = Math.max(state.agentRead, f.seq);
          log.querySelectorAll("li.izc-mine").forEach(function (li) {
            if (+li.getAttribute("data-seq") <= f.seq) mark(li, "Read");
          });
        }
        break;
      case "escalated":
        setStatus(f.new ? "Escalated to a supervisor. You'll see their promise here." : "Your request is already with a supervisor.");
        if (f.new && log) log.appendChild(el("li", { class: "izc-system", text: "You asked for a supervisor" + (state.escalationReason ? ": “" + state.escalationReason + "”" : ".") }));
        break;
      case "verify_sent":
        state.codeTtl = f.expires_in;
        showVerify("code", f.email);
        setStatus("We've emailed a code to " + f.email + ".");
        break;
      case "verified":
        verifyBox.hidden = true;
        log.appendChild(el("li", { class: "izc-system", text: "Your email address is confirmed." }));
        setStatus("Your email address is confirmed. The agent can now look at your orders.");
        break;
      case "transcript_queued":
        setStatus("We're emailing the transcript to " + f.email + ".");
        break;
      case "rated":
        setStatus("Thank you for your rating.");
        break;
      case "error":
        onError(f);
        break;
    }
  }

  function onError(f) {
    if (f.code === "chat_closed" || f.code === "no_agents") {
      state.startFrame = null; state.closedByUs = true; state.ws.close();
      state.status.can_start = false; state.status.reason = f.code === "chat_closed" ? "closed" : "no_agents";
      if (f.next_open_at) state.status.next_open_at = f.next_open_at;
      var values = state.prechatForm ? (function () { var v = {}; state.prechatForm.querySelectorAll("[name]").forEach(function (n) { v[n.name] = n.value; }); return v; })() : {};
      renderLauncher();
      showOffline(values);
      return;
    }
    if (state.prechatForm && !state.session) {
      state.startFrame = null; state.closedByUs = true; state.ws.close();
      showErrors(state.prechatForm, { detail: f.detail, fields: f.field ? (function () { var o = {}; o[f.field] = f.detail; return o; })() : {} });
      return;
    }
    if (/^code_|^verify_|^already_verified$/.test(f.code)) { verifyError(f); return; }
    if (f.ref && state.pending[f.ref] && f.code !== "rate_limited") {
      mark(state.pending[f.ref].node, "Not sent: " + f.detail);
      delete state.pending[f.ref];
      saveOutbox();
    }
    setStatus(f.detail);
  }

  function entry(f) {
    if (f.seq <= state.lastSeq) return;
    state.lastSeq = f.seq;
    if (f.type === "message" && f.sender === "customer" && f.client_id) {
      var existing = log.querySelector("li[data-client-id='" + f.client_id + "']");
      if (existing) { existing.setAttribute("data-seq", f.seq); mark(existing, "Sent"); delete state.pending[f.client_id]; saveOutbox(); frame({ type: "delivered", seq: f.seq }); return; }
    }
    if (f.type === "message") {
      log.appendChild(bubble(f.sender === "customer", f.author, f.text, f.sent_at, f.attachments, f.seq, f.client_id));
      if (f.sender !== "customer") typingLine.textContent = "";
    } else if (f.type === "agent_joined") {
      log.appendChild(el("li", { class: "izc-system", text: f.agent + " joined the chat." }));
      setStatus("You're chatting with " + f.agent + ".");
    } else if (f.type === "agent_left") {
      log.appendChild(el("li", { class: "izc-system", text: f.agent + (f.transferred ? " transferred you to a colleague." : " left the chat.") }));
      setStatus("Connecting you to another agent…");
    } else if (f.type === "ended") {
      state.ended = true; save();
      showEnded(f);
    }
    log.scrollTop = log.scrollHeight;
    frame({ type: "delivered", seq: f.seq });
    if (!document.hidden && !panel.hidden) { frame({ type: "read", seq: f.seq }); state.readSeq = f.seq; tabSet("read", f.seq); }
    else if (f.type === "message" && f.sender !== "customer" && f.seq > state.readSeq) { state.unread += 1; renderLauncher(); }
  }

  function bubble(mine, author, text, iso, attachments, seq, clientId) {
    var li = el("li", { class: mine ? "izc-mine" : "izc-theirs" });
    if (seq) li.setAttribute("data-seq", seq);
    if (clientId) li.setAttribute("data-client-id", clientId);
    li.appendChild(el("span", { class: "izc-author", text: mine ? "You" : author }));
    if (text) li.appendChild(el("p", { text: text }));
    (attachments || []).forEach(function (a) {
      if (!a.kept) { li.appendChild(el("p", { class: "izc-note", text: a.name + " was not kept." })); return; }
      // The chat token goes in a header, never in the URL (URLs end up in access logs and
      // browser history): the file is fetched, then shown from a local blob: URL.
      if (a.type.indexOf("image/") === 0) {
        var img = el("img", { alt: a.name, class: "izc-photo" });
        li.appendChild(img);
        attachmentBlob(a).then(function (url) { img.src = url; }, function () { img.alt = a.name + " (could not be loaded)"; });
      } else {
        li.appendChild(el("a", { href: "#", class: "izc-file", text: a.name, onclick: function (e) {
          e.preventDefault();
          attachmentBlob(a).then(function (url) {
            var save = el("a", { href: url, download: a.name });
            document.body.appendChild(save); save.click(); save.remove();
          }, function () { setStatus(a.name + " could not be downloaded. Try again."); });
        } }));
      }
    });
    li.appendChild(el("time", { datetime: iso || new Date().toISOString(), text: localTime(iso || new Date().toISOString()) }));
    if (mine) li.appendChild(el("span", { class: "izc-state", text: seq ? "Sent" : "Sending…" }));
    return li;
  }
  function attachmentBlob(a) {
    var url = new URL("/chat/sessions/" + state.session + "/attachments/" + a.id, origin).href;
    return fetch(url, { headers: { "X-Chat-Token": state.token } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.blob();
    }).then(function (blob) { return URL.createObjectURL(blob); });
  }
  function mark(li, text) { var s = li.querySelector(".izc-state"); if (s) s.textContent = text; }

  function sendText() {
    var text = composer.value.trim();
    if (!text || state.ended) return;
    var id = uid();
    var f = { type: "message", client_id: id, text: text };
    var li = bubble(true, "You", text, new Date().toISOString(), [], 0, id);
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    state.pending[id] = { frame: f, node: li, at: new Date().toISOString() };
    saveOutbox();
    composer.value = "";
    frame({ type: "typing", state: false });
    frame(f); // if the socket is down, the welcome after reconnecting resends it
  }

  // After a reload: the messages not acknowledged before it, shown as "Sending…" and
  // sent again (once, by client id) when the socket is back.
  function restoreOutbox() {
    tabGet("outbox", []).forEach(function (p) {
      if (!p || !p.client_id || !p.text || state.pending[p.client_id]) return;
      var li = bubble(true, "You", p.text, p.at, [], 0, p.client_id);
      log.appendChild(li);
      state.pending[p.client_id] = { frame: { type: "message", client_id: p.client_id, text: p.text }, node: li, at: p.at };
    });
  }

  function typing() {
    var now = Date.now();
    if (now - state.typingSentAt > 3000) { frame({ type: "typing", state: true }); state.typingSentAt = now; }
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(function () { frame({ type: "typing", state: false }); state.typingSentAt = 0; }, 4000);
  }

  function upload() {
    var files = Array.prototype.slice.call(fileInput.files || []);
    if (!files.length) return;
    var limits = state.status.attachments;
    var tooBig = files.filter(function (f) { return f.size > limits.max_bytes; });
    if (tooBig.length) { setStatus(tooBig[0].name + " is larger than " + Math.round(limits.max_bytes / 1048576) + " MB."); fileInput.value = ""; return; }
    var data = new FormData();
    var id = uid();
    files.forEach(function (f) { data.append("files", f); });
    data.append("client_id", id);
    setStatus("Uploading " + files.length + " file(s)…");
    fetch(new URL("/chat/sessions/" + state.session + "/uploads", origin).href, {
      method: "POST", headers: { "X-Chat-Token": state.token }, body: data,
    }).then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
      .then(function (r) { setStatus(r.ok ? "Uploaded." : r.data.detail); fileInput.value = ""; })
      .catch(function () { setStatus("The upload failed. Try again."); });
  }

  // "Escalate to a Supervisor" asks what the supervisor should know (optional), then
  // shows the customer's own words back in the conversation.
  function escalate() {
    if (state.ended || body.querySelector(".izc-escalate")) return;
    var reason = el("textarea", { name: "reason", rows: "2", maxlength: "500" });
    var form = el("form", { class: "izc-form izc-escalate", novalidate: "" }, [
      field("What should the supervisor know? (optional)", reason),
      el("div", { class: "izc-verify-actions" }, [
        el("button", { type: "submit", class: "izc-primary", text: "Send to a supervisor" }),
        el("button", { type: "button", class: "izc-link", text: "Cancel", onclick: function () { form.remove(); } }),
      ]),
    ]);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      state.escalationReason = reason.value.trim();
      if (frame({ type: "escalate", reason: state.escalationReason })) form.remove();
    });
    actions.parentNode.insertBefore(form, actions.nextSibling);
    reason.focus();
  }

  function showEnded(f) {
    renderLauncher();
    composer.disabled = true;
    actions.querySelectorAll("button").forEach(function (b) { if (b.textContent !== "Email me the transcript") b.disabled = true; });
    var text = f.for_conduct
      ? "The agent ended this chat under our code of conduct: " + f.reason
      : (f.by === "customer" ? "You ended the chat." : "The chat has ended." + (f.reason ? " " + f.reason : ""));
    if (log) log.appendChild(el("li", { class: "izc-system", text: text }));
    setStatus(text);
    if (state.rated || body.querySelector(".izc-rate")) return;
    var form = el("form", { class: "izc-rate" }, [
      el("fieldset", {}, [el("legend", { text: "How did we do?" })].concat([1, 2, 3, 4, 5].map(function (n) {
        return el("label", {}, [el("input", { type: "radio", name: "score", value: String(n), required: "" }), el("span", { text: n + (n === 1 ? " (poor)" : n === 5 ? " (excellent)" : "") })]);
      }))),
      field("Anything to add? (optional)", el("textarea", { name: "comment", rows: "2" })),
      el("button", { type: "submit", class: "izc-primary", text: "Send rating" }),
    ]);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = new FormData(form);
      state.rated = true;
      frame({ type: "rate", score: +data.get("score"), comment: data.get("comment") || "" });
    });
    body.appendChild(form);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && state.lastSeq && !panel.hidden) frame({ type: "read", seq: state.lastSeq });
  });

  // On every page: the launcher shows whether chat is open; a chat in progress (this
  // browser's) reconnects at once, and the panel reopens if it was open before a reload.
  if (saved() && saved().token) { boot(); if (tabGet("open", false)) toggle(true); }
  else {
    api("/chat/status", { credentials: "same-origin" }).then(function (r) {
      if (r.ok && !state.status) { state.status = r.data; renderLauncher(); }
    }).catch(function () { /* the launcher stays neutral */ });
  }

  window.IzonieChat = { open: function () { toggle(true); }, close: function () { toggle(false); }, _state: state };
})();
