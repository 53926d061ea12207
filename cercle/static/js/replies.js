// The `/` picker of saved replies in the reply box (templates/replies/_picker.html).
// `/` at the start of a line of the reply (or the button) opens a search; ↑ ↓ choose,
// Enter inserts the saved reply as filled for this conversation, Esc closes.
// The results are server-rendered (escaped) HTML; the text is inserted with
// setRangeText, never as HTML.
(function () {
  "use strict";
  function $(selector, root) { return (root || document).querySelector(selector); }
  function panel() { return $("#saved-replies"); }
  function search() { return $("#saved-replies-q"); }
  function options() {
    const p = panel();
    return p ? Array.prototype.slice.call(p.querySelectorAll("[role=option]")) : [];
  }
  let active = 0;

  function setActive(index) {
    const all = options();
    if (!all.length) { active = 0; return; }
    active = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === active ? "true" : "false");
      option.classList.toggle("active", i === active);
    });
    all[active].scrollIntoView({ block: "nearest" });
    const input = search();
    if (input) input.setAttribute("aria-activedescendant", all[active].id);
  }

  function open() {
    const p = panel();
    const input = search();
    if (!p || !input) return;
    p.hidden = false;
    const button = $("#saved-replies-open");
    if (button) button.setAttribute("aria-expanded", "true");
    input.value = "";
    input.focus();
    if (window.htmx) window.htmx.trigger(input, "replies-open");
  }

  function close(backToText) {
    const p = panel();
    if (!p) return;
    p.hidden = true;
    const button = $("#saved-replies-open");
    if (button) button.setAttribute("aria-expanded", "false");
    if (backToText) { const text = $("#reply-text"); if (text) text.focus(); }
  }

  function insert(option) {
    const text = $("#reply-text");
    if (!text || !option) return;
    const start = text.selectionStart || 0;
    const end = text.selectionEnd || start;
    text.setRangeText(option.getAttribute("data-text") || "", start, end, "end");
    const used = $("#saved-replies-used");
    if (used) {
      const ids = used.value ? used.value.split(",") : [];
      const id = option.getAttribute("data-id");
      if (id && ids.indexOf(id) === -1) ids.push(id);
      used.value = ids.join(",");
    }
    text.dispatchEvent(new Event("input", { bubbles: true }));
    close(true);
  }

  // Reply suggestions (templates/moderation/_reply_suggestions.html): a button inserts its
  // text; a saved reply among them counts as used, like one from the picker.
  function insertSuggestion(button) {
    const text = $("#reply-text");
    if (!text) return;
    const start = text.selectionStart || 0;
    text.setRangeText(button.getAttribute("data-insert-text") || "", start, text.selectionEnd || start, "end");
    const id = button.getAttribute("data-saved-reply");
    const used = $("#saved-replies-used");
    if (id && used) {
      const ids = used.value ? used.value.split(",") : [];
      if (ids.indexOf(id) === -1) ids.push(id);
      used.value = ids.join(",");
    }
    text.dispatchEvent(new Event("input", { bubbles: true }));
    text.focus();
  }

  function atLineStart(text) {
    const at = text.selectionStart;
    return at === text.selectionEnd && (at === 0 || text.value.charAt(at - 1) === "\n");
  }

  // Capture phase: before the inbox's own keys (Esc blurs, Enter opens a row).
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.id === "reply-text" && event.key === "/" && panel() && atLineStart(target)) {
      event.preventDefault();
      open();
      return;
    }
    // Enter on a suggestion inserts it (before the inbox's own Enter, which opens a row).
    if (event.key === "Enter" && target.closest && target.closest("#reply-suggestions [data-insert-text]")) {
      event.preventDefault();
      event.stopPropagation();
      insertSuggestion(target.closest("#reply-suggestions [data-insert-text]"));
      return;
    }
    if (target.id !== "saved-replies-q") return;
    if (event.key === "ArrowDown") { setActive(active + 1); event.preventDefault(); }
    else if (event.key === "ArrowUp") { setActive(active - 1); event.preventDefault(); }
    else if (event.key === "Enter") {
      // Never submit the reply form from the search field.
      event.preventDefault();
      insert(options()[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    }
  }, true);

  document.addEventListener("click", function (event) {
    const target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest("#saved-replies-open")) {
      const p = panel();
      if (p && !p.hidden) close(true); else open();
      return;
    }
    const option = target.closest("#saved-replies [role=option]");
    if (option) insert(option);
    const suggestion = target.closest("#reply-suggestions [data-insert-text]");
    if (suggestion) insertSuggestion(suggestion);
  });

  // A live refresh of the conversation would close the picker someone is using: while it
  // is open, refresh the timeline only (the inbox does the same while a reply is typed).
  document.addEventListener("htmx:beforeSwap", function (event) {
    const detail = event.detail || {};
    const config = detail.requestConfig;
    const refresh = config && config.headers && config.headers["X-Cercle-Refresh"];
    const p = panel();
    const root = $("#conv-root");
    if (!refresh || !p || p.hidden || !root || !detail.target || detail.target.id !== "conversation") return;
    detail.shouldSwap = false;
    if (window.htmx && root.dataset.timelineUrl) {
      window.htmx.ajax("GET", root.dataset.timelineUrl, { target: "#timeline", swap: "outerHTML" });
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail && event.detail.target;
    if (target && target.id === "saved-replies-results") setActive(0);
  });
})();
