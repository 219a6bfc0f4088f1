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
    closedByUs: false, rated: false,
  };

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
  function localTime(iso) {
    var d = new Date(iso);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  function localMoment(iso) {
    var d = new Date(iso);
    return d.toLocaleString([], { weekday: "long", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
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

  // --- Styles and the shell
  var css = el("link", { rel: "stylesheet", href: new URL("widget.css", base).href });
  document.head.appendChild(css);

  var launcher = el("button", {
    type: "button", class: "izc-launcher", "aria-haspopup": "dialog", "aria-expanded": "false",
    onclick: function () { toggle(true); },
  }, [el("span", { class: "izc-dot", "aria-hidden": "true" }), el("span", { text: "Chat with us" })]);
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
    if (open) {
      if (!state.status) boot();
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
    api("/chat/status").then(function (r) {
      state.status = r.data;
      var stored = saved();
      if (stored && stored.token) { state.token = stored.token; showConversation(); connect(); return; }
      if (r.data.can_start) showPrechat(); else showOffline();
    }).catch(function () { setStatus("Chat could not load. Check your connection and try again."); });
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
  function showErrors(form, data) {
    form.querySelectorAll(".izc-error").forEach(function (n) { n.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    var fields = (data && data.fields) || {};
    var shown = false;
    Object.keys(fields).forEach(function (name) {
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

  function showPrechat() {
    clear();
    setStatus("We're online. An agent usually answers within a few minutes.");
    var orderInput = el("input", { name: "order_number", autocomplete: "off", inputmode: "text", placeholder: state.status.order_number.example });
    var question = el("textarea", { name: "text", rows: "3", required: "" });
    var help = el("div", { class: "izc-suggest", hidden: "", "aria-live": "polite" });
    suggestWhileTyping(question, help, "pre_chat");
    var form = el("form", { class: "izc-form", novalidate: "" }, [
      field("Your name", el("input", { name: "name", autocomplete: "name", required: "" })),
      field("Email", el("input", { name: "email", type: "email", autocomplete: "email", required: "" }), "For the transcript, and our reply if the chat drops."),
      field("Topic", categorySelect()),
      field("Order number (optional)", orderInput, "Looks like " + state.status.order_number.example),
      field("How can we help?", question),
      help,
      el("button", { type: "submit", class: "izc-primary", text: "Start chat" }),
    ]);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!orderCheck(orderInput)) {
        showErrors(form, { fields: { order_number: "Izonie order numbers look like " + state.status.order_number.example + "." } });
        return;
      }
      var data = new FormData(form);
      state.startFrame = {
        type: "start", client_id: uid(), platform: platform,
        name: data.get("name"), email: data.get("email"), category: data.get("category"),
        order_number: data.get("order_number"), text: data.get("text"),
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

  function showOffline() {
    clear();
    var s = state.status;
    var why = s.reason === "closed"
      ? "Live chat is closed now." + (s.holiday ? " Today is " + s.holiday + "." : "")
      : "No agent is available right now.";
    var next = s.next_open_at ? " It opens again " + localMoment(s.next_open_at) + "." : "";
    setStatus(why + next);
    body.appendChild(el("div", { class: "izc-offline" }, [
      el("p", { class: "izc-hours", text: "Chat hours: " + s.hours.join("; ") + " (" + s.time_zone + ")." }),
      el("p", { text: "Leave a message and we will answer by email. " + (s.offline_reply_promise || "") }),
    ]));
    var help = el("div", { class: "izc-suggest", hidden: "", "aria-live": "polite" });
    var text = el("textarea", { name: "text", rows: "4", required: "" });
    suggestWhileTyping(text, help, "chat_offline");
    var form = el("form", { class: "izc-form", novalidate: "" }, [
      field("Your name", el("input", { name: "name", autocomplete: "name", required: "" })),
      field("Email", el("input", { name: "email", type: "email", autocomplete: "email", required: "" })),
      field("Topic", categorySelect()),
      field("Order number (optional)", el("input", { name: "order_number", autocomplete: "off" })),
      field("Your message", text),
      help,
      el("button", { type: "submit", class: "izc-primary", text: "Leave a message" }),
    ]);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = {};
      new FormData(form).forEach(function (v, k) { data[k] = v; });
      api("/chat/offline-message", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
      }).then(function (r) {
        if (!r.ok) { showErrors(form, r.data); return; }
        clear();
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
      el("button", { type: "button", text: "End chat", onclick: function () { frame({ type: "end" }); } }),
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
      if (state.token) frame({ type: "resume", token: state.token, last_seq: state.lastSeq });
      else if (state.startFrame) frame(state.startFrame);
    };
    ws.onmessage = function (e) {
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
      var delay = Math.min(30000, 500 * Math.pow(2, state.retry++));
      setStatus("Connection lost. Reconnecting…");
      setTimeout(connect, delay);
    };
  }

  function handle(f) {
    switch (f.type) {
      case "welcome":
        state.token = f.token; state.session = f.session; save();
        if (!log) showConversation();
        if (f.state === "ended") { state.ended = true; showEnded({}); }
        else if (f.verified === false && verifyBox.hidden) showVerify("offer");
        else if (f.verified) verifyBox.hidden = true;
        setStatus(f.agent ? "You're chatting with " + f.agent + "." : "You're in the queue. An agent will join shortly.");
        Object.keys(state.pending).forEach(function (id) { frame(state.pending[id].frame); });
        break;
      case "ack":
        var pending = state.pending[f.client_id];
        if (pending) { pending.node.setAttribute("data-seq", f.seq); mark(pending.node, "Sent"); delete state.pending[f.client_id]; }
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
      showOffline();
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
    }
    setStatus(f.detail);
  }

  function entry(f) {
    if (f.seq <= state.lastSeq) return;
    state.lastSeq = f.seq;
    if (f.type === "message" && f.sender === "customer" && f.client_id) {
      var existing = log.querySelector("li[data-client-id='" + f.client_id + "']");
      if (existing) { existing.setAttribute("data-seq", f.seq); mark(existing, "Sent"); delete state.pending[f.client_id]; frame({ type: "delivered", seq: f.seq }); return; }
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
    if (!document.hidden && !panel.hidden) frame({ type: "read", seq: f.seq });
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
    state.pending[id] = { frame: f, node: li };
    composer.value = "";
    frame({ type: "typing", state: false });
    frame(f); // if the socket is down, the welcome after reconnecting resends it
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

  function escalate() {
    frame({ type: "escalate" });
  }

  function showEnded(f) {
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

  window.IzonieChat = { open: function () { toggle(true); }, close: function () { toggle(false); }, _state: state };
})();
