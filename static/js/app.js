// Floor behaviour shared by every screen: the scan field keeps focus, and
// every answer to a scan is seen, heard and felt.
(function () {
  "use strict";

  function scanField() { return document.querySelector("[data-scan-field]"); }

  function refocus() {
    var field = scanField();
    var active = document.activeElement;
    // Leave focus alone while the operator is typing into another field.
    if (!field || active === field) return;
    if (active && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName) && active !== document.body) return;
    field.focus({ preventScroll: true });
  }

  var audio = null;
  function beep(ok) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = ok ? "sine" : "square";
      osc.frequency.value = ok ? 1760 : 220;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + (ok ? 0.08 : 0.35));
    } catch (e) { /* no audio on this device */ }
  }

  function feedback(ok) {
    beep(ok);
    if (navigator.vibrate) navigator.vibrate(ok ? 40 : [120, 60, 120]);
    var cls = ok ? "flash-ok" : "flash-error";
    document.body.classList.add(cls);
    setTimeout(function () { document.body.classList.remove(cls); }, 250);
  }

  document.addEventListener("DOMContentLoaded", refocus);
  document.addEventListener("click", function () { setTimeout(refocus, 0); });
  document.addEventListener("htmx:configRequest", function (e) {
    var field = scanField();
    // The value is already in the request: free the field for the next scan.
    if (field && e.detail.elt && e.detail.elt.contains(field)) field.value = "";
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var verdict = e.detail.target && e.detail.target.getAttribute && e.detail.target.getAttribute("data-feedback");
    var swapped = document.getElementById(e.detail.target.id);
    if (swapped) verdict = swapped.getAttribute("data-feedback") || verdict;
    if (verdict) feedback(verdict === "ok");
    refocus();
  });
})();
