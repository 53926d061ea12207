/* Cercle comment & contact widget.
 *
 * Embed with one tag:  <script src="https://cercle.example/w/<channel-uuid>/widget.js" async></script>
 * Optional: data-target="#comments" renders it inside that element instead of a floating button.
 *
 * No cookies: the visitor is a random token kept in localStorage and sent in the
 * X-Cercle-Visitor header. Every text is written with textContent, never as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) { return; }
  var base = script.src.replace(/widget\.js(\?.*)?$/, "");
  var channel = (base.match(/\/w\/([0-9a-f-]{36})\/$/) || [])[1] || "";
  var storageKey = "cercle-visitor:" + channel;
  var fr = /^fr\b/i.test(document.documentElement.lang || navigator.language || "");
  var T = fr ? {
    open: "Commenter ou nous écrire", comment: "Commentaire", contact: "Contact",
    name: "Votre nom (facultatif)", text: "Votre message", send: "Envoyer",
    sending: "Envoi…", sent: "Envoyé — nous vous répondrons ici.", error: "Échec de l’envoi. Réessayez.",
    tooMany: "Trop de messages : réessayez dans un moment.", you: "Vous", team: "L’équipe",
    close: "Fermer", empty: "Écrivez-nous : la réponse de l’équipe s’affichera ici."
  } : {
    open: "Comment or contact us", comment: "Comment", contact: "Contact",
    name: "Your name (optional)", text: "Your message", send: "Send",
    sending: "Sending…", sent: "Sent — we will answer here.", error: "Could not send. Try again.",
    tooMany: "Too many messages: try again in a moment.", you: "You", team: "The team",
    close: "Close", empty: "Write to us: the team's answer will show here."
  };

  function randomToken() {
    var bytes = new Uint8Array(32);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var memoryToken = "";
  function token() {
    try {
      var t = window.localStorage.getItem(storageKey);
      if (!t) { t = randomToken(); window.localStorage.setItem(storageKey, t); }
      return t;
    } catch (e) { /* storage blocked: this page view only */
      if (!memoryToken) { memoryToken = randomToken(); }
      return memoryToken;
    }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }

  var host = el("div", { "data-cercle-widget": channel });
  var target = script.getAttribute("data-target");
  var inline = target ? document.querySelector(target) : null;
  (inline || document.body).appendChild(host);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = el("style");
  style.textContent = [
    ":host{all:initial}",
    ".c{font:14px/1.4 system-ui,sans-serif;color:#1d1d1f;box-sizing:border-box}",
    ".f{position:fixed;right:16px;bottom:16px;z-index:2147483000}",
    ".b{background:#2b59c3;color:#fff;border:0;border-radius:20px;padding:10px 16px;cursor:pointer;font:inherit}",
    ".p{background:#fff;border:1px solid #ccd;border-radius:10px;padding:12px;width:320px;max-width:90vw;box-shadow:0 4px 20px rgba(0,0,0,.15)}",
    ".i .p{width:auto;box-shadow:none}",
    ".l{max-height:260px;overflow:auto;margin:8px 0;display:flex;flex-direction:column;gap:6px}",
    ".m{padding:6px 8px;border-radius:8px;background:#eef;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".m.team{background:#e7f6ea}",
    ".w{font-size:12px;color:#555}",
    "textarea,input{width:100%;box-sizing:border-box;font:inherit;margin:4px 0;padding:6px;border:1px solid #aab;border-radius:6px}",
    ".t{display:flex;gap:8px;margin-bottom:6px}",
    ".t label{cursor:pointer}",
    ".s{min-height:1.2em;font-size:12px;color:#555}",
    ".x{float:right;background:none;border:0;cursor:pointer;font:inherit}"
  ].join("");
  root.appendChild(style);

  var box = el("div", { "class": "c " + (inline ? "i" : "f") });
  var opener = el("button", { "class": "b", type: "button", "aria-expanded": "false" }, T.open);
  var panel = el("div", { "class": "p", role: "dialog", "aria-label": T.open });
  panel.hidden = !inline;
  var closer = el("button", { "class": "x", type: "button", "aria-label": T.close }, "×");
  var tabs = el("div", { "class": "t", role: "radiogroup" });
  var kind = "comment";
  ["comment", "contact"].forEach(function (k) {
    var label = el("label");
    var radio = el("input", { type: "radio", name: "cercle-kind-" + channel, value: k });
    radio.style.width = "auto";
    if (k === kind) { radio.checked = true; }
    radio.addEventListener("change", function () { kind = k; });
    label.appendChild(radio);
    label.appendChild(document.createTextNode(" " + T[k]));
    tabs.appendChild(label);
  });
  var list = el("div", { "class": "l", role: "log", "aria-live": "polite" });
  var form = el("form");
  var name = el("input", { type: "text", maxlength: "100", placeholder: T.name, "aria-label": T.name, autocomplete: "name" });
  var text = el("textarea", { rows: "3", maxlength: "5000", required: "", placeholder: T.text, "aria-label": T.text });
  var send = el("button", { "class": "b", type: "submit" }, T.send);
  var status = el("div", { "class": "s", role: "status" });
  form.appendChild(name); form.appendChild(text); form.appendChild(send); form.appendChild(status);
  if (!inline) { panel.appendChild(closer); }
  panel.appendChild(tabs); panel.appendChild(list); panel.appendChild(form);
  if (!inline) { box.appendChild(opener); }
  box.appendChild(panel);
  root.appendChild(box);

  function render(messages) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!messages.length) { list.appendChild(el("div", { "class": "w" }, T.empty)); return; }
    messages.forEach(function (m) {
      var item = el("div", { "class": "m " + (m.from === "team" ? "team" : "you") });
      item.appendChild(el("div", { "class": "w" }, m.from === "team" ? T.team : T.you));
      item.appendChild(el("div", {}, String(m.text || "")));
      list.appendChild(item);
    });
    list.scrollTop = list.scrollHeight;
  }

  function load() {
    return fetch(base + "thread", {
      method: "GET", mode: "cors", credentials: "omit",
      headers: { "X-Cercle-Visitor": token() }
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && data.messages) { render(data.messages); } })
      .catch(function () { /* offline: keep what is shown */ });
  }

  var timer = null;
  function setOpen(open) {
    panel.hidden = !open;
    opener.setAttribute("aria-expanded", open ? "true" : "false");
    if (timer) { clearInterval(timer); timer = null; }
    if (open) { load(); timer = setInterval(load, 15000); text.focus(); }
  }
  opener.addEventListener("click", function () { setOpen(panel.hidden); });
  closer.addEventListener("click", function () { setOpen(false); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = text.value.trim();
    if (!body) { return; }
    send.disabled = true;
    status.textContent = T.sending;
    fetch(base + "messages", {
      method: "POST", mode: "cors", credentials: "omit",
      headers: { "Content-Type": "application/json", "X-Cercle-Visitor": token() },
      body: JSON.stringify({
        kind: kind, text: body, name: name.value.trim(),
        page_url: location.href.split("#")[0], page_title: document.title
      })
    }).then(function (r) {
      if (r.status === 202) {
        text.value = "";
        status.textContent = T.sent;
        setTimeout(load, 1500);
      } else {
        status.textContent = r.status === 429 ? T.tooMany : T.error;
      }
    }).catch(function () { status.textContent = T.error; })
      .then(function () { send.disabled = false; });
  });

  if (inline) { load(); timer = setInterval(load, 30000); }
})();
