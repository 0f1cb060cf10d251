// Floor behaviour shared by every screen: the scan field keeps focus, and
// every answer to a scan is seen, heard and felt.
(function () {
  "use strict";

  // Screens opened here open again with no network (static/sw.js). Browsers allow a
  // service worker only on HTTPS or this machine itself: `HTTPS=1 make run` on the LAN.
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/static/sw.js", { scope: "/" })["catch"](function () { /* pages work without it */ });
  }

  // The texts the scripts say, in the page's language: <body data-texts> holds the server's
  // translations (none in English); %(name)s takes a value.
  var texts = null;
  window.floorText = function (text, values) {
    if (texts === null) {
      try { texts = JSON.parse((document.body && document.body.getAttribute("data-texts")) || "{}"); }
      catch (e) { texts = {}; }
    }
    return (texts[text] || text).replace(/%\((\w+)\)s/g, function (_, name) {
      return String((values || {})[name]);
    });
  };

  function scanField() { return document.querySelector("[data-scan-field]"); }

  function refocus() {
    var field = scanField();
    var active = document.activeElement;
    if (!field || active === field) return;
    // Leave focus alone while the operator is typing into another field or a dialog is open.
    if (active && active !== document.body && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) return;
    if (document.querySelector("dialog[open]")) return;
    field.focus({ preventScroll: true });
  }

  // Three sounds an operator can tell apart without looking: a short high
  // beep, a double mid beep, a long low buzz.
  var SOUNDS = {
    ok: [{ f: 1760, t: 0.07, type: "sine" }],
    warn: [{ f: 880, t: 0.08, type: "triangle" }, { gap: 0.06 }, { f: 880, t: 0.08, type: "triangle" }],
    error: [{ f: 200, t: 0.4, type: "square" }]
  };
  var VIBRATE = { ok: 40, warn: [60, 60, 60], error: [200, 80, 200] };
  var audio = null;

  function play(kind) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
      var at = audio.currentTime;
      (SOUNDS[kind] || SOUNDS.error).forEach(function (note) {
        if (note.gap) { at += note.gap; return; }
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = note.type;
        osc.frequency.value = note.f;
        gain.gain.value = 0.25;
        osc.connect(gain).connect(audio.destination);
        osc.start(at);
        osc.stop(at + note.t);
        at += note.t;
      });
    } catch (e) { /* no audio on this device */ }
  }

  var hideTimer = null;
  function feedback(kind, message) {
    kind = SOUNDS[kind] ? kind : "error";
    play(kind);
    if (navigator.vibrate) navigator.vibrate(VIBRATE[kind]);
    var banner = document.getElementById("feedback");
    document.body.classList.remove("flash-ok", "flash-warn", "flash-error");
    void document.body.offsetWidth;  // restart the flash animation for back-to-back scans
    document.body.classList.add("flash-" + kind);
    document.documentElement.setAttribute("data-last-feedback", kind);
    if (banner) {
      banner.className = "feedback " + kind;
      banner.textContent = message || window.floorText({ ok: "OK", warn: "Check this", error: "Not accepted" }[kind]);
      banner.hidden = false;
      clearTimeout(hideTimer);
      hideTimer = setTimeout(function () { banner.hidden = true; }, kind === "ok" ? 1500 : 4000);
    }
  }

  window.floorFeedback = feedback;
  window.floorRefocus = refocus;

  document.addEventListener("DOMContentLoaded", refocus);
  // A stray tap anywhere (gloves!) must not leave the scanner typing into nothing.
  document.addEventListener("click", function () { setTimeout(refocus, 0); });
  document.addEventListener("touchend", function () { setTimeout(refocus, 0); });
  window.addEventListener("focus", refocus);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refocus(); });
  document.addEventListener("focusout", function () { setTimeout(refocus, 150); });
  document.addEventListener("close", function () { setTimeout(refocus, 0); }, true);
  document.addEventListener("htmx:afterSwap", function (e) {
    // Swaps made by htmx itself (not the scan queue) still get their feedback.
    var swapped = e.detail.target && document.getElementById(e.detail.target.id);
    var verdict = swapped && swapped.getAttribute("data-feedback");
    if (verdict && !window.floorQueueSwap) feedback(verdict, swapped.getAttribute("data-message"));
    refocus();
  });
})();
