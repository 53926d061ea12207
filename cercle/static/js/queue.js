// The moderation queue by keyboard: j/k move, a accepts, d dismisses, o or Enter opens.
// After a decision the page reloads; the selection comes back at the same place.
(function () {
  "use strict";
  const list = document.querySelector("[data-queue]");
  if (!list) return;
  const KEY = "cercle-queue-at";
  const items = function () { return Array.from(list.querySelectorAll(".queue-item")); };
  let at = 0;

  function select(index) {
    const all = items();
    if (all.length === 0) return;
    at = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (item, n) {
      item.classList.toggle("is-selected", n === at);
      if (n === at) item.setAttribute("aria-current", "true"); else item.removeAttribute("aria-current");
    });
    all[at].focus({ preventScroll: true });
    all[at].scrollIntoView({ block: "nearest" });
  }

  function remember(item) {
    const index = items().indexOf(item);
    if (index >= 0) window.sessionStorage.setItem(KEY, String(index));
  }

  function decide(value) {
    const item = items()[at];
    const button = item && item.querySelector('button[value="' + value + '"]');
    if (button) button.click();
  }

  list.addEventListener("submit", function (event) {
    remember(event.target.closest(".queue-item"));
  });
  list.addEventListener("click", function (event) {
    const item = event.target.closest(".queue-item");
    if (item && !event.target.closest("a, button")) select(items().indexOf(item));
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    switch (event.key) {
      case "j": select(at + 1); break;
      case "k": select(at - 1); break;
      case "a": decide("accept"); break;
      case "d": decide("dismiss"); break;
      case "o":
      case "Enter": {
        if (event.key === "Enter" && event.target.closest("a, button")) return;
        const item = items()[at];
        if (item) window.location.assign(item.dataset.open);
        break;
      }
      default: return;
    }
    event.preventDefault();
  });

  select(Number(window.sessionStorage.getItem(KEY) || 0));
  window.sessionStorage.removeItem(KEY);
})();
