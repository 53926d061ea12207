// The inbox's behaviour: live updates (SSE), keyboard shortcuts, drafts, the reply box.
// Everything talks to the server through htmx; no data is ever turned into HTML here.
(function () {
  "use strict";

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const listBox = $("#list");
  if (!listBox) return;

  // --- helpers ------------------------------------------------------------------------
  function debounce(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }
  function listState() {
    const inner = $("#list-inner");
    return {
      latest: inner ? inner.dataset.latestActivity || "0" : "0",
      query: inner ? inner.dataset.query || "" : "",
      url: inner ? inner.dataset.listUrl || "/" : "/",
    };
  }
  function openConversationId() {
    const root = $("#conv-root");
    return root ? root.dataset.conversation : null;
  }
  function isTyping(el) {
    return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  }

  // --- live updates -------------------------------------------------------------------
  const banner = () => $("#new-banner");
  const refreshCounts = debounce(function () {
    const state = listState();
    htmx.ajax("GET", listBox.dataset.viewsUrl + (state.query ? "?" + state.query : ""), {
      target: "#views", swap: "innerHTML",
    });
  }, 800);
  const checkNew = debounce(function () {
    const state = listState();
    const sep = state.query ? "&" : "";
    fetch(listBox.dataset.newCountUrl + "?" + state.query + sep + "after=" + encodeURIComponent(state.latest), {
      credentials: "same-origin", headers: { "Accept": "application/json" },
    }).then((r) => (r.ok ? r.json() : null)).then(function (data) {
      const b = banner();
      if (!data || !b) return;
      if (data.count > 0) {
        const template = data.count === 1 ? listBox.dataset.i18nNewOne : listBox.dataset.i18nNewMany;
        b.textContent = template.replace("%(count)s", String(data.count));
        b.hidden = false;
      }
    }).catch(function () { /* the next event tries again */ });
  }, 500);
  let refreshFor = null;
  const refreshConversation = debounce(function () {
    const root = $("#conv-root");
    // The team may have moved on (closed it with `e`, opened another) since the event came.
    if (!root || root.dataset.conversation !== refreshFor) return;
    const text = $("#reply-text");
    const busy = text && (text.value.trim() !== "" || document.activeElement === text);
    const headers = { "X-Cercle-Refresh": refreshFor };
    // The earlier messages the member opened stay: ask from the oldest one shown.
    const shown = $$("#timeline [data-message]");
    const since = shown.length ? "since=" + encodeURIComponent(shown[0].dataset.message) : "";
    const withSince = function (url) { return since ? url + (url.indexOf("?") < 0 ? "?" : "&") + since : url; };
    if (busy) {
      // Never touch the reply box while someone writes in it: refresh the timeline only.
      htmx.ajax("GET", withSince(root.dataset.timelineUrl), { target: "#timeline", swap: "outerHTML", headers: headers });
    } else {
      const url = root.dataset.timelineUrl.replace(/timeline\/$/, "") + window.location.search;
      htmx.ajax("GET", withSince(url), { target: "#conversation", swap: "innerHTML", headers: headers });
    }
  }, 300);
  // A live refresh that lands after the team opened another conversation is dropped.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    const config = event.detail.requestConfig;
    const refreshing = config && config.headers && config.headers["X-Cercle-Refresh"];
    if (refreshing && refreshing !== openConversationId()) event.detail.shouldSwap = false;
  });

  function onEvent(event) {
    let data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    refreshCounts();
    if (data.verb === "received") checkNew();
    if (data.conversation && String(data.conversation) === openConversationId()) {
      refreshFor = String(data.conversation);
      refreshConversation();
    }
  }

  if (window.EventSource && listBox.dataset.liveUrl) {
    const source = new EventSource(listBox.dataset.liveUrl + "?after=" + encodeURIComponent(listState().latest));
    source.onmessage = onEvent;
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("click", function (event) {
    const b = event.target.closest && event.target.closest("#new-banner");
    if (!b) return;
    b.hidden = true;
    htmx.ajax("GET", listState().url, { target: "#list", swap: "innerHTML" });
  });

  // --- panes, selection, drafts -------------------------------------------------------
  let selected = -1;
  function rows() { return $$("#list .conv-row"); }
  function select(index, focus) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, index));
    all.forEach((row, i) => row.classList.toggle("is-selected", i === selected));
    const link = $("a", all[selected]);
    if (link && focus) link.focus();
  }
  function markOpen() {
    const id = openConversationId();
    rows().forEach(function (row, i) {
      const open = row.dataset.conversation === id;
      row.classList.toggle("is-open", open);
      const link = $("a", row);
      if (link) { if (open) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current"); }
      if (open && selected < 0) selected = i;
    });
    const main = $("main.inbox");
    if (main) main.classList.toggle("has-conversation", !!id);
  }

  function replyForm() { return $("#replybox"); }
  function currentMode(form) {
    const checked = $("input[name=mode]:checked", form);
    return checked ? checked.value : "note";
  }
  function updateReplyBox() {
    const form = replyForm();
    if (!form) return;
    const text = $("#reply-text", form);
    const counter = $("#charcount", form);
    const mode = currentMode(form);
    form.classList.toggle("mode-note", mode === "note");
    if (!text || !counter) return;
    const max = parseInt(form.dataset.max || "0", 10);
    if (mode === "note" || !max) {
      counter.textContent = text.value.length ? String(text.value.length) : "";
      counter.classList.remove("over");
    } else {
      counter.textContent = text.value.length + " / " + max;
      counter.classList.toggle("over", text.value.length > max);
    }
  }
  // Drafts: kept on the server per member and conversation (saved as the member types, a pause
  // of 800 ms or every 3 s), and in this browser until the server has them, with the mode they
  // were written in (a note's text must never come back as a public reply). The server marks the
  // reply box it draws after a successful send (data-sent-draft-key): the draft is gone then.
  // A local copy the server had (`syncedAt`, the server's clock) before this page read the drafts
  // (`data-draft-read-at`), but no longer has, was sent or discarded elsewhere: it is dropped.
  function writeDraft(key, draft) {
    try {
      if (!draft) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, JSON.stringify(draft));
    } catch (e) { /* storage may be disabled or full */ }
  }
  let draftTimer = null;
  let draftSince = 0;
  function cancelServerSave() {
    window.clearTimeout(draftTimer);
    draftTimer = null;
    draftSince = 0;
  }
  function scheduleServerSave(form) {
    if (!form.dataset.draftUrl) return;
    window.clearTimeout(draftTimer);
    const now = Date.now();
    if (!draftSince) draftSince = now;
    draftTimer = window.setTimeout(function () { draftSince = 0; pushDraft(form); }, now - draftSince >= 3000 ? 0 : 800);
  }
  function pushDraft(form) {
    // A form already replaced (another conversation opened) still holds its values: save them.
    const text = $("#reply-text", form);
    const token = $("input[name=csrfmiddlewaretoken]", form);
    if (!text || !token) return;
    const sent = text.value;
    const mode = currentMode(form);
    const body = new FormData();
    body.append("text", sent);
    body.append("mode", mode);
    body.append("typing", "1");
    body.append("tab", document.documentElement.dataset.cercleTab || "");
    const key = $("input[name=send_key]", form);
    if (key) body.append("send_key", key.value);
    const seen = $("input[name=seen]", form);
    if (seen) body.append("seen", seen.value);
    fetch(form.dataset.draftUrl, {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": token.value },
    }).then(function (r) {
      const at = Number(r.headers.get("X-Cercle-Saved-At") || "0");
      if (!r.ok || !at || !form.dataset.draftKey) return;
      const local = readDraft(form.dataset.draftKey);
      if (local && local.text === sent && local.mode === mode) writeDraft(form.dataset.draftKey, { text: sent, mode: mode, syncedAt: at });
    }).catch(function () { /* the next keystroke tries again; the local copy stays */ });
  }
  function readDraft(key) {
    try {
      const raw = window.localStorage.getItem(key);
      if (!raw) return null;
      const draft = JSON.parse(raw);
      if (draft && typeof draft.text === "string" && typeof draft.mode === "string") return draft;
    } catch (e) { /* storage disabled, or an old plain-text draft */ }
    try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
    return null;
  }
  function saveDraft(form) {
    const text = $("#reply-text", form);
    if (!text || !form.dataset.draftKey) return;
    writeDraft(form.dataset.draftKey, text.value === "" ? null : { text: text.value, mode: currentMode(form), syncedAt: 0 });
    scheduleServerSave(form);
  }
  function restoreDraft() {
    const form = replyForm();
    if (!form) return;
    if (form.dataset.sentDraftKey) {
      try { window.localStorage.removeItem(form.dataset.sentDraftKey); } catch (e) { /* ignore */ }
    }
    const text = $("#reply-text", form);
    const key = form.dataset.draftKey;
    let draft = key ? readDraft(key) : null;
    const readAt = Number(form.dataset.draftReadAt || "0");
    if (text && draft && draft.syncedAt && draft.syncedAt < readAt && !form.dataset.serverDraft && !text.value) {
      // The server had it before this page read the drafts, and no longer has it: sent or
      // discarded from another tab.
      writeDraft(key, null);
      draft = null;
    }
    const unsavedHere = draft && !draft.syncedAt && draft.text !== text.value;
    if (text && draft && (!text.value || (form.dataset.serverDraft && unsavedHere))) {
      const radio = $("input[name=mode][value=" + draft.mode + "]", form);
      if (radio) {
        radio.checked = true;
        text.value = draft.text;
        if (!draft.syncedAt || draft.syncedAt >= readAt) scheduleServerSave(form);
      } else if (draft.mode === "note") {
        // A note cannot be written here any more (role changed): never offer its text as a reply.
        writeDraft(key, null);
      }
    } else if (text && key && form.dataset.serverDraft && text.value) {
      writeDraft(key, { text: text.value, mode: currentMode(form), syncedAt: readAt });
    }
    updateReplyBox();
  }
  document.addEventListener("input", function (event) {
    if (event.target.id !== "reply-text") return;
    const form = replyForm();
    if (form) saveDraft(form);
    updateReplyBox();
  });
  document.addEventListener("change", function (event) {
    if (event.target.name !== "mode") return;
    const form = replyForm();
    if (form) saveDraft(form);
    updateReplyBox();
  });
  // `e` closes the open conversation and opens the next one of the list (the previous one
  // when it was the last); the closed row leaves a list of open conversations (the server
  // says so out of band).
  let nextAfterClose = null;
  function closeAndNext() {
    const button = $("#btn-close");
    const id = openConversationId();
    if (!button || !id) return;
    const all = rows();
    const index = all.findIndex((row) => row.dataset.conversation === id);
    const next = index >= 0 ? all[index + 1] || all[index - 1] : all[0];
    nextAfterClose = next
      ? { closing: id, next: next.dataset.conversation, form: button.form, answered: false }
      : null;
    button.click();
  }
  // The close's own answer: an earlier swap of the pane (its opening) may settle before it.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    const pending = nextAfterClose;
    // The request's element (the event itself goes elsewhere when the swap removed the form).
    const config = event.detail.requestConfig;
    if (!pending || !config || config.elt !== pending.form) return;
    if (event.detail.successful) pending.answered = true;
    else nextAfterClose = null;
  });
  function openNextAfterClose() {
    const pending = nextAfterClose;
    if (!pending) return;
    if (openConversationId() !== pending.closing) { nextAfterClose = null; return; }  // moved on
    if (!pending.answered) return;  // this settle is not the close's: keep waiting for it
    nextAfterClose = null;
    // Only once the close went through (the pane shows "Reopen"), never after a refusal.
    if (!$("#btn-reopen")) return;
    refreshFor = null;  // the closed one's live refresh would bring it back
    openRow(pending, 0);
  }
  // Open the next row; if a late swap of the closed conversation (a live refresh already in
  // flight) won the race, open it again, a few times at most, while nobody moved elsewhere.
  function openRow(pending, attempt) {
    const row = rows().find((r) => r.dataset.conversation === pending.next);
    const link = row && $("a", row);
    if (!link) return;
    link.click();
    link.focus();
    if (attempt >= 3) return;
    window.setTimeout(function () {
      if (openConversationId() === pending.closing) openRow(pending, attempt + 1);
    }, 1500);
  }

  // A send (or a discard) is on its way: a pending autosave must not bring the text back.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail.elt;
    if (elt && elt.closest && elt.closest("#replybox")) cancelServerSave();
  });
  // A reply stopped because the conversation changed: "Edit" goes back to the usual box.
  document.addEventListener("click", function (event) {
    const edit = event.target.closest && event.target.closest("#btn-collision-edit");
    if (!edit) return;
    const form = replyForm();
    const panel = $("#collision");
    if (panel) panel.remove();
    if (form) {
      form.classList.remove("has-collision");
      const foot = $("#replybox-foot", form);
      if (foot) foot.hidden = false;
      const text = $("#reply-text", form);
      if (text) text.focus();
    }
  });

  document.body.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail.target;
    if (!target) return;
    if (target.id === "conversation") {
      restoreDraft(); markOpen(); openNextAfterClose();
      // A reply stopped because the conversation changed: read what changed first (the focus
      // is not on a button, so a reflex Enter sends nothing).
      const stopped = $("#collision");
      if (stopped) stopped.focus();
    }
    if (target.id === "list") { selected = -1; markOpen(); const b = banner(); if (b) b.hidden = true; }
  });
  restoreDraft();
  markOpen();

  // --- keyboard -----------------------------------------------------------------------
  const help = $("#help");
  function toggleHelp(show) {
    if (!help) return;
    help.hidden = !show;
    if (show) { const close = $("#help-close"); if (close) close.focus(); }
  }
  if (help) {
    $("#help-close").addEventListener("click", function () { toggleHelp(false); });
    help.addEventListener("click", function (event) { if (event.target === help) toggleHelp(false); });
  }
  function clickIf(selector) {
    const el = $(selector);
    if (el) el.click();
    return !!el;
  }
  function focusReply(mode) {
    const form = replyForm();
    if (!form) return;
    const radio = $("input[name=mode][value=" + mode + "]", form) || (mode === "reply" && $("input[name=mode][value=private]", form));
    if (radio) { radio.checked = true; saveDraft(form); }
    updateReplyBox();
    const text = $("#reply-text", form);
    if (text) text.focus();
  }

  // Keys act only once htmx has taken over the page's forms and links (it does so on
  // DOMContentLoaded, before this listener runs): a key pressed earlier would submit a
  // form natively and reload the page.
  // Row density: compact or comfortable, remembered on this device.
  function applyDensity(compact) {
    document.body.classList.toggle("density-compact", compact);
    const toggle = $("#density-toggle");
    if (toggle) toggle.setAttribute("aria-pressed", compact ? "true" : "false");
  }
  applyDensity(window.localStorage.getItem("cercle-density") === "compact");
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("#density-toggle")) return;
    const compact = !document.body.classList.contains("density-compact");
    window.localStorage.setItem("cercle-density", compact ? "compact" : "comfortable");
    applyDensity(compact);
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    applyDensity(document.body.classList.contains("density-compact"));
  });

  // `g` then a letter goes somewhere: `g i` the inbox (open), `g m` mine.
  let goPressedAt = 0;
  function goTo(key) {
    const view = { i: "open", m: "mine" }[key];
    const link = view && $("#views a[data-view=" + view + "]");
    if (link) link.click();
    return !!link;
  }

  // `l`: correct the labels of the latest inbound message: its choices open, the current
  // sentiment focused (tab / shift+tab move, enter chooses, esc closes).
  function openLabelFix() {
    const fixes = $$("#timeline .item-inbound .label-fix");
    const fix = fixes[fixes.length - 1];
    if (!fix) return false;
    fix.open = true;
    const button = $("button.is-on", fix) || $("button", fix);
    if (button) button.focus();
    return true;
  }

  let pageReady = document.readyState === "complete";
  document.addEventListener("DOMContentLoaded", function () { pageReady = true; });
  document.addEventListener("keydown", function (event) {
    if (!pageReady) return;
    if (event.key === "Escape") {
      if (help && !help.hidden) { toggleHelp(false); event.preventDefault(); return; }
      const fixing = document.activeElement && document.activeElement.closest(".label-fix[open]");
      if (fixing) { fixing.open = false; $("summary", fixing).focus(); event.preventDefault(); return; }
      if (isTyping(document.activeElement)) { document.activeElement.blur(); return; }
    }
    if (event.target.id === "reply-text" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      const form = replyForm();
      // Nothing to send: a stray Ctrl+Enter in an empty box does nothing.
      if (!form || event.target.value.trim() === "") return;
      // Stopped because the conversation changed: the key never sends anyway by itself.
      if (form.classList.contains("has-collision")) { const anyway = $("#btn-send-anyway", form); if (anyway) anyway.focus(); return; }
      const andClose = event.shiftKey && $("#btn-send-close", form);
      if (andClose) andClose.click(); else form.requestSubmit();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    if (help && !help.hidden && event.key !== "?") return;
    if (goPressedAt && Date.now() - goPressedAt < 1500) {
      goPressedAt = 0;
      if (goTo(event.key)) { event.preventDefault(); return; }
    }
    if (event.key === "g") { goPressedAt = Date.now(); event.preventDefault(); return; }
    // Enter on a focused button or link does what it says (a label chosen after `l`).
    if (event.key === "Enter" && event.target.closest && event.target.closest("button, a, summary")) return;
    let handled = true;
    switch (event.key) {
      case "j": select(selected + 1, true); break;
      case "k": select(selected - 1, true); break;
      case "Enter": {
        const row = rows()[selected];
        if (row && document.activeElement !== $("a", row)) { const link = $("a", row); if (link) link.click(); }
        else handled = false;
        break;
      }
      case "r": focusReply("reply"); break;
      case "n": focusReply("note"); break;
      case "a": clickIf("#btn-assign-me"); break;
      case "e": closeAndNext(); break;
      case "A": { const el = $("#assign-select"); if (el) el.focus(); break; }
      case "t": { const el = $("#tag-name"); if (el) el.focus(); break; }
      case "s": { const el = $("#snooze-select"); if (el) el.focus(); break; }
      case "l": handled = openLabelFix(); break;
      case "/": { const q = $("#q"); if (q) { q.focus(); q.select(); } break; }
      case "?": toggleHelp(help ? help.hidden : false); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });
})();
