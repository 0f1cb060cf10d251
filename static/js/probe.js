// Scanner set-up: record every key of one test scan with its time, then send them to be measured.
(function () {
  "use strict";
  var form = document.querySelector("form[data-scanner-probe]");
  if (!form) return;
  var field = form.querySelector("[data-probe-field]");
  var keysField = form.querySelector("[data-probe-keys]");
  var keys = [], timer = null;

  function send() {
    clearTimeout(timer);
    if (!keys.length) return;
    keysField.value = JSON.stringify(keys);
    keys = [];
    field.value = "";
    if (window.htmx) htmx.trigger(form, "submit"); else form.submit();
  }

  field.addEventListener("keydown", function (e) {
    keys.push({ key: e.key, t: Math.round(performance.now() * 10) / 10, ctrl: e.ctrlKey });
    clearTimeout(timer);
    if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); send(); return; }
    if (e.ctrlKey) e.preventDefault();
    // A scanner that sends no Enter is done after a second of silence.
    timer = setTimeout(send, 1000);
  });
  form.querySelector("[data-probe-reset]").addEventListener("click", function () { keys = []; field.value = ""; field.focus(); });
})();
