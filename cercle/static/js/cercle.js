// Small behaviours shared by every page. No inline handlers: the CSP forbids them.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("change", function (event) {
    const el = event.target;
    if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.requestSubmit();
    }
  });
  // Destructive forms (disconnect a channel) ask first; the question is plain text.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  // A reply or a status change also sends the conversation's row, to update the list. When
  // that row is not in the list shown (another view, a page further down), it has nowhere to
  // go: drop it before htmx looks for its target, which would log an error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const text = event.detail.serverResponse;
    if (typeof text !== "string" || text.indexOf('id="row-') < 0) return;
    const template = document.createElement("template");
    template.innerHTML = text;
    let dropped = false;
    template.content.querySelectorAll('[id^="row-"][hx-swap-oob]').forEach(function (row) {
      if (!document.getElementById(row.id)) {
        row.remove();
        dropped = true;
      }
    });
    if (dropped) event.detail.serverResponse = template.innerHTML;
  });
  // htmx takes over the forms of a swapped-in fragment only when the swap settles (some
  // milliseconds later, more under load). A submit in between (a key pressed at once) would
  // go out natively and reload the page: hand such a form to htmx and submit it again.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement) || !window.htmx) return;
    if (!form.matches("[hx-post],[hx-get],[hx-put],[hx-delete],[hx-patch]")) return;
    if (form.dataset.htmxReplayed) return;  // htmx declined it once: let the browser have it
    event.preventDefault();
    const submitter = event.submitter;
    // Not from inside this submit event: the browser ignores a nested submission.
    window.setTimeout(function () {
      if (!form.isConnected) return;
      form.dataset.htmxReplayed = "1";
      window.htmx.process(form);
      if (submitter && submitter.form === form) submitter.click();
      else form.requestSubmit();
      delete form.dataset.htmxReplayed;
    }, 0);
  });
})();
