// The inbox's bulk bar: tick rows (click, shift+click for a range, `x` on the selected row),
// or every row matching the filter; act on them (shift+e closes); follow the job and undo it.
// The server does the work (inbox/bulk.py); this only keeps the bar in step with the boxes.
(function () {
  "use strict";

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  if (!$("#list")) return;

  const form = () => $("#bulk-form");
  const boxes = () => $$("#list .bulk-check");
  const ticked = () => boxes().filter((box) => box.checked);
  let lastClicked = null;

  function allMatching() {
    const scope = $("#bulk-scope");
    return !!scope && scope.value === "filter";
  }
  function setAllMatching(on) {
    const scope = $("#bulk-scope");
    const all = $("#bulk-all");
    const button = $("#bulk-select-all");
    if (!scope) return;
    scope.value = on ? "filter" : "selection";
    if (all) { all.hidden = !on; if (!on) all.textContent = ""; }
    if (button) button.hidden = on;
    if (on) boxes().forEach((box) => { box.checked = true; });
  }
  function update() {
    const bar = form();
    if (!bar) return;
    const count = ticked().length;
    if (count === 0 && allMatching()) setAllMatching(false);
    bar.hidden = count === 0;
    const label = $("#bulk-selected");
    if (label) {
      label.textContent = count === 1 ? label.dataset.one : label.dataset.many.replace("%(count)s", String(count));
      label.hidden = allMatching();
    }
    $$("#list .conv-row").forEach(function (row) {
      const box = $(".bulk-check", row);
      row.classList.toggle("is-ticked", !!box && box.checked);
    });
  }
  function clear() {
    setAllMatching(false);
    boxes().forEach((box) => { box.checked = false; });
    update();
  }

  document.addEventListener("click", function (event) {
    const target = event.target;
    if (!target.closest) return;
    const box = target.closest(".bulk-check");
    if (box) {
      // Shift+click ticks (or unticks) every row between the last one clicked and this one.
      const all = boxes();
      if (event.shiftKey && lastClicked && all.includes(lastClicked)) {
        const [a, b] = [all.indexOf(lastClicked), all.indexOf(box)].sort((x, y) => x - y);
        all.slice(a, b + 1).forEach((other) => { other.checked = box.checked; });
      }
      lastClicked = box;
      if (!box.checked) setAllMatching(false);
      update();
      return;
    }
    if (target.closest("#bulk-clear")) { clear(); return; }
    if (target.closest("#bulk-select-all")) {
      const bar = form();
      setAllMatching(true);
      update();
      htmx.ajax("GET", bar.dataset.countUrl, { target: "#bulk-all", swap: "innerHTML" });
      return;
    }
    if (target.closest(".bulk-dismiss")) {
      const status = $("#bulk-status");
      if (status) status.textContent = "";
    }
  });

  // `x` ticks the selected (or focused) row; shift+e closes the selection.
  function currentRow() {
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest(".conv-row");
    return focused || $("#list .conv-row.is-selected") || $("#list .conv-row.is-open");
  }
  function isTyping(el) {
    return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) && el.type !== "checkbox");
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    const help = $("#help");
    if (help && !help.hidden) return;
    if (event.key === "x") {
      const row = currentRow();
      const box = row && $(".bulk-check", row);
      if (!box) return;
      box.checked = !box.checked;
      lastClicked = box;
      if (!box.checked) setAllMatching(false);
      update();
      event.preventDefault();
    } else if (event.key === "E") {
      const bar = form();
      const close = $("#bulk-close");
      if (!bar || bar.hidden || !close) return;
      event.preventDefault();
      close.click();  // a click, so that htmx sends the button's operation with the form
    }
  });

  // Once a job is over, the list is drawn again (closed rows leave an "open" view) and the
  // selection is cleared; while it runs, the progress partial polls itself.
  function refreshList() {
    const inner = $("#list-inner");
    const url = inner ? inner.dataset.listUrl : null;
    if (url) htmx.ajax("GET", url, { target: "#list", swap: "innerHTML" });
  }
  let lastState = null;
  document.body.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail.target;
    if (!target) return;
    if (target.id === "list") { lastClicked = null; update(); return; }
    const job = $("#bulk-job");
    if (!job || !(target.id === "bulk-status" || target.id === "bulk-job" || target === job)) return;
    const state = job.dataset.state || "";
    if (state && state !== lastState && (state === "finished" || state === "undone" || state === "failed")) {
      if (state === "finished") clear();
      refreshList();
    }
    lastState = state;
    if (state === "finished") { const undo = $("#bulk-undo"); if (undo) undo.focus(); }
  });
  update();
})();
