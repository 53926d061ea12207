// The team's awareness of each other in the inbox: a heartbeat says where this tab is and
// brings back, out of band, who else is viewing, typing or drafting (the conversation header,
// the small avatars on the rows). htmx swaps the server's HTML; nothing is built from data here.
(function () {
  "use strict";

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const listBox = $("#list");
  if (!listBox || !listBox.dataset.presenceUrl || !window.htmx) return;

  const BEAT_MS = 8000;

  // One id per page load: two tabs of one member are two presences.
  function tab() {
    const root = document.documentElement;
    if (!root.dataset.cercleTab) {
      const random = window.crypto && window.crypto.randomUUID ? window.crypto.randomUUID() : String(Math.random()).slice(2) + String(Date.now());
      root.dataset.cercleTab = random.replace(/[^A-Za-z0-9-]/g, "").slice(0, 40);
    }
    return root.dataset.cercleTab;
  }
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }
  function openConversationId() {
    const root = $("#conv-root");
    return root ? root.dataset.conversation : "";
  }
  function rowIds() {
    return $$("[data-presence-row]").slice(0, 200).map((el) => el.dataset.presenceRow).join(",");
  }

  // The heartbeat's own source element, so its requests never queue behind (or replace) the
  // inbox's other requests.
  const source = document.createElement("span");
  source.hidden = true;
  document.body.appendChild(source);

  let timer = null;
  function beat() {
    window.clearTimeout(timer);
    timer = window.setTimeout(beat, BEAT_MS);
    if (document.visibilityState === "hidden") return;
    htmx.ajax("POST", listBox.dataset.presenceUrl, {
      source: source, swap: "none",
      values: { tab: tab(), conversation: openConversationId(), rows: rowIds() },
    });
  }
  let soon = null;
  function beatSoon() {
    window.clearTimeout(soon);
    soon = window.setTimeout(beat, 150);
  }
  function leave() {
    if (!navigator.sendBeacon || !listBox.dataset.presenceLeaveUrl) return;
    const body = new FormData();
    body.append("tab", tab());
    body.append("csrfmiddlewaretoken", csrfToken());
    navigator.sendBeacon(listBox.dataset.presenceLeaveUrl, body);
  }

  document.body.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail.target;
    // Another conversation, or new rows: say where we are and fill their slots now.
    if (target && (target.id === "conversation" || target.id === "list")) beatSoon();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") leave();
    else beatSoon();
  });
  window.addEventListener("pagehide", leave);
  beat();
})();
