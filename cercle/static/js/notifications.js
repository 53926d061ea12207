// The bell: rings (opt-in sound) and shows a browser notification (opt-in) when a new one
// arrives. Choices are per device (localStorage). No inline code: the CSP forbids it.
(function () {
  "use strict";
  const KEY_LAST = "cercle.notify.last";
  const KEY_SOUND = "cercle.notify.sound";
  const KEY_BROWSER = "cercle.notify.browser";

  function get(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function set(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: no memory */ }
  }

  function beep() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    const ctx = new Ctx();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.06;
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.onended = function () { ctx.close(); };
    osc.start();
    osc.stop(ctx.currentTime + 0.18);
  }

  function showBrowserNotification(bell, id) {
    if (!("Notification" in window) || window.Notification.permission !== "granted") { return; }
    // Plain text: the Notification API does not render HTML.
    const shown = new window.Notification(bell.dataset.latestText || "Cercle", { tag: "cercle-" + id });
    shown.onclick = function () {
      window.focus();
      if (bell.dataset.latestUrl) { window.location.assign(bell.dataset.latestUrl); }
    };
  }

  function announce(bell) {
    const latest = parseInt(bell.dataset.latest || "0", 10);
    const last = parseInt(get(KEY_LAST) || "0", 10);
    if (!latest || latest <= last) { return; }
    set(KEY_LAST, String(latest));
    if (!last) { return; } // the first look on this device: remember, do not ring for the past
    if (get(KEY_SOUND) === "on") { beep(); }
    if (get(KEY_BROWSER) === "on" && document.hidden) { showBrowserNotification(bell, latest); }
  }

  function refreshToggles() {
    document.querySelectorAll("[data-notify-toggle]").forEach(function (button) {
      const key = button.dataset.notifyToggle === "sound" ? KEY_SOUND : KEY_BROWSER;
      button.setAttribute("aria-pressed", get(key) === "on" ? "true" : "false");
    });
  }

  function status(text) {
    const el = document.querySelector("[data-notify-status]");
    if (el) { el.textContent = text; }
  }

  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element ? event.target.closest("[data-notify-toggle]") : null;
    if (!button) { return; }
    if (button.dataset.notifyToggle === "sound") {
      const on = get(KEY_SOUND) !== "on";
      set(KEY_SOUND, on ? "on" : "off");
      if (on) { beep(); }
    } else if (get(KEY_BROWSER) === "on") {
      set(KEY_BROWSER, "off");
    } else if ("Notification" in window) {
      window.Notification.requestPermission().then(function (permission) {
        set(KEY_BROWSER, permission === "granted" ? "on" : "off");
        if (permission !== "granted") { status(button.dataset.deniedText || permission); }
        refreshToggles();
      });
    }
    refreshToggles();
  });

  function start() {
    const bell = document.getElementById("bell");
    if (bell) { announce(bell); }
    refreshToggles();
  }
  document.addEventListener("htmx:load", function (event) {
    const elt = event.detail && event.detail.elt;
    if (elt && elt.id === "bell") { announce(elt); }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
