// The keyboard wedge and the camera, feeding one ordered queue of scans.
//
// A scan gets its id the moment it is read and goes into a queue kept in
// IndexedDB; the queue sends one scan at a time, in order, and a scan leaves
// it only when the server has answered it. The field is emptied at once, so
// the next scan never waits for the network, never merges with the one
// before, and survives a reload or a dropped Wi-Fi. The server applies each
// scan id once, so a scan resent after a lost answer is not applied twice.
//
// A scan answered with an error after it had waited (offline, or behind
// other scans) is kept in a second store, "to resolve", and listed above the
// field until the operator has seen it: a scan that no longer fits is never
// lost behind the answers to the scans that followed it.
//
// A scan answered 401 (the session ended: signed out on another screen, the
// account paused) was not taken: it stays first in the queue, the notice
// offers a sign-in that comes back to this page, and the queue goes on from
// there.
(function () {
  "use strict";

  var DB_NAME = "floor";
  var OLD_STORE = "floor.scanQueue.v1";  // the localStorage queue of earlier versions
  var GS = "\x1d";
  var LATE_MS = 3000;  // an answer this long after the scan is one the operator may not be watching for

  // The page's language: the server puts its translations of these texts on <body data-texts>.
  var T = window.floorText || function (text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return String((values || {})[name]); });
  };

  function countScans(n) {
    return n === 1 ? T("1 scan") : T("%(n)s scans", { n: n });
  }

  function newId() {
    // crypto.randomUUID needs a secure context; getRandomValues does not.
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  // IndexedDB, or memory where a browser has none (private mode on some devices). -------------

  function Store() {
    var self = this;
    this.db = null;
    this.ready = new Promise(function (resolve) {
      if (!window.indexedDB) { resolve(); return; }
      var req;
      try { req = indexedDB.open(DB_NAME, 1); } catch (e) { resolve(); return; }
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains("scans")) db.createObjectStore("scans", { keyPath: "seq", autoIncrement: true });
        if (!db.objectStoreNames.contains("problems")) db.createObjectStore("problems", { keyPath: "id" });
      };
      req.onsuccess = function () { self.db = req.result; resolve(); };
      req.onerror = function () { resolve(); };
      req.onblocked = function () { resolve(); };
    });
  }

  Store.prototype.tx = function (name, mode, work) {
    var self = this;
    return this.ready.then(function () {
      if (!self.db) return undefined;
      return new Promise(function (resolve, reject) {
        var tx = self.db.transaction(name, mode);
        var out = work(tx.objectStore(name));
        tx.oncomplete = function () { resolve(out && "result" in out ? out.result : out); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  };
  Store.prototype.all = function (name) {
    return this.tx(name, "readonly", function (os) { return os.getAll(); }).then(function (rows) { return rows || []; });
  };
  Store.prototype.add = function (name, row) {
    return this.tx(name, "readwrite", function (os) { return os.add(row); });
  };
  Store.prototype.put = function (name, row) {
    return this.tx(name, "readwrite", function (os) { return os.put(row); });
  };
  Store.prototype.remove = function (name, key) {
    return this.tx(name, "readwrite", function (os) { return os["delete"](key); });
  };

  function csrfToken(form) {
    var field = form.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function Queue(form) {
    var self = this;
    this.form = form;
    this.url = form.getAttribute("action");
    this.target = form.getAttribute("data-target");
    this.state = form.querySelector("[data-queue-state]");
    this.problemBox = document.querySelector("[data-scan-problems]");
    this.othersBox = form.querySelector("[data-queue-others]");
    this.store = new Store();
    this.sending = false;
    this.held = "";  // "signed-out" or "stale": the server cannot take scans until the operator acts
    this.retryMs = 0;
    this.timer = null;
    this.items = [];
    this.problems = [];
    // Scans left from an earlier visit (or an earlier version's localStorage queue) go first, in their order.
    this.loaded = this.store.all("scans").then(function (rows) {
      var old = [];
      try { old = JSON.parse(localStorage.getItem(OLD_STORE) || "[]"); } catch (e) { old = []; }
      rows.sort(function (a, b) { return a.seq - b.seq; });
      rows.forEach(function (scan) { scan.late = true; });  // they waited through a reload
      self.items = rows.concat(self.items);
      return Promise.all(old.map(function (scan) { return self.keep(scan); })).then(function () {
        try { localStorage.removeItem(OLD_STORE); } catch (e) { /* nothing kept there */ }
      });
    }).then(function () { return self.store.all("problems"); }).then(function (rows) {
      self.problems = rows.sort(function (a, b) { return a.at - b.at; });
    })["catch"](function () { /* a broken store must not stop scanning */ }).then(function () {
      self.show();
      self.pump();
    });
    this.problemBox && this.problemBox.addEventListener("click", function (e) {
      var button = e.target.closest("[data-resolve]");
      if (button) self.resolve(button.getAttribute("data-resolve"));
    });
    window.addEventListener("online", function () { self.retryNow(); });
    window.addEventListener("offline", function () { self.show(); });
  }

  // Fields that go with the next scan (a quantity typed for it), read the
  // moment the scan is read, so a later change cannot leak into it.
  function extras() {
    var out = {};
    Array.prototype.forEach.call(document.querySelectorAll("[data-scan-extra]"), function (field) {
      if (field.value) { out[field.name] = field.value; field.value = ""; }
    });
    return out;
  }

  Queue.prototype.keep = function (scan) {
    // The row is in memory at once (order is memory's); IndexedDB follows and gives it its key.
    if (this.items.indexOf(scan) < 0) this.items.push(scan);
    return this.store.add("scans", scan).then(function (seq) { if (seq !== undefined) scan.seq = seq; })
      ["catch"](function () { /* memory only */ });
  };

  Queue.prototype.add = function (text, source, fields) {
    var extra = fields || extras();
    var scan = { id: newId(), text: text, url: this.url, source: source || "wedge", at: Date.now(), extra: extra,
                 screen: document.title, user: me() };
    // Read while the connection is down, it waits: an error in its answer is listed, not only buzzed,
    // however soon the connection comes back.
    if (this.offline() || this.held) scan.late = true;
    var self = this;
    this.saving = this.keep(scan);
    this.show();
    this.saving.then(function () { self.pump(); });
    return scan;
  };

  // Who is signed in on this page: each scan keeps who scanned it, and goes out only under them.
  function me() {
    return document.body ? document.body.getAttribute("data-user") || "" : "";
  }

  // The scans this page may send: the signed-in person's (and those of earlier versions, which
  // did not say whose they were). Another person's wait here until that person signs in again.
  Queue.prototype.mine = function () {
    var who = me();
    return this.items.filter(function (s) { return !s.user || s.user === who; });
  };

  Queue.prototype.offline = function () {
    return this.retryMs > 0 || navigator.onLine === false;
  };

  Queue.prototype.show = function () {
    var waiting = this.mine().length;
    var others = this.items.length - waiting;
    var scans = countScans(waiting);
    if (this.state) {
      this.state.hidden = waiting <= 0;
      this.state.classList.toggle("offline", this.offline() || !!this.held);
      if (this.held && waiting) {
        var here = window.location.pathname + window.location.search;
        var link = document.createElement("a");
        link.className = "button";
        if (this.held === "signed-out") {
          this.state.textContent = T("Signed out — %(scans)s kept, sent once you sign in again", { scans: scans }) + " ";
          link.href = (this.form.getAttribute("data-login") || "/login") + "?next=" + encodeURIComponent(here);
          link.textContent = T("Sign in");
        } else {
          this.state.textContent = T("This screen is out of date — %(scans)s kept, sent once it is reloaded", { scans: scans }) + " ";
          link.href = here;
          link.textContent = T("Reload");
        }
        this.state.appendChild(link);
      } else {
        this.state.textContent = this.offline()
          ? T("Offline — %(scans)s kept, sent when the connection is back", { scans: scans })
          : T("%(scans)s waiting", { scans: scans });
      }
    }
    if (this.othersBox) {
      this.othersBox.hidden = others <= 0;
      this.othersBox.textContent = T("%(scans)s by someone else kept on this handheld: sent when they sign in here again",
                                     { scans: countScans(others) });
    }
    document.documentElement.setAttribute("data-scans-waiting", String(waiting));
    document.documentElement.setAttribute("data-scans-kept-for-others", String(others));
    document.documentElement.setAttribute("data-problem-count", String(this.problems.length));
    this.showProblems();
  };

  Queue.prototype.showProblems = function () {
    var box = this.problemBox;
    if (!box) return;
    box.hidden = !this.problems.length;
    box.textContent = "";
    if (!this.problems.length) return;
    var head = document.createElement("p");
    head.className = "problems-head";
    head.textContent = T("%(scans)s sent late did not go through — check each one",
                         { scans: countScans(this.problems.length) });
    box.appendChild(head);
    var list = document.createElement("ul");
    this.problems.forEach(function (p) {
      var li = document.createElement("li");
      var what = document.createElement("div");
      var code = document.createElement("code");
      code.textContent = p.text || (p.extra && p.extra.action ? "tap " + p.extra.action : "?");
      var msg = document.createElement("span");
      msg.textContent = " " + (p.message || T("Not accepted")) + " (" + (p.screen || "") + ", " +
        new Date(p.at).toLocaleTimeString() + ")";
      what.appendChild(code);
      what.appendChild(msg);
      var ok = document.createElement("button");
      ok.type = "button";
      ok.textContent = T("Seen");
      ok.setAttribute("data-resolve", p.id);
      li.appendChild(what);
      li.appendChild(ok);
      list.appendChild(li);
    });
    box.appendChild(list);
  };

  Queue.prototype.resolve = function (id) {
    this.problems = this.problems.filter(function (p) { return p.id !== id; });
    this.store.remove("problems", id)["catch"](function () {});
    this.show();
  };

  Queue.prototype.retryNow = function () {
    clearTimeout(this.timer);
    this.retryMs = 0;
    this.show();
    this.pump();
  };

  Queue.prototype.pump = function () {
    var self = this;
    var mine = self.mine();
    if (self.sending || !mine.length) return;
    var scan = mine[0];
    self.sending = true;
    var body = new FormData();
    body.append("code", scan.text);
    if (scan.user) body.append("scanned_by", scan.user);
    body.append("clean", "1");  // affixes already taken off here (Wedge.clean); the server must not again
    body.append("scan_id", scan.id);
    body.append("csrf_token", csrfToken(self.form));
    Object.keys(scan.extra || {}).forEach(function (name) { body.append(name, scan.extra[name]); });
    fetch(scan.url || self.url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-Scan-Id": scan.id, "X-CSRFToken": csrfToken(self.form) }
    }).then(function (response) {
      // No answer (a dropped network) or a gateway saying the server is away: kept and tried again.
      // Any other 5xx is the server's answer to this scan: listed as refused, never resent forever.
      if (response.status === 0 || response.status === 502 || response.status === 503 || response.status === 504) {
        throw new Error("server " + response.status);
      }
      var held = "";
      if (response.status === 401 || (response.redirected && /\/login$/.test(new URL(response.url).pathname))) {
        // The session ended (signed out elsewhere, account paused, cookie gone).
        held = "signed-out";
      } else if (response.headers.get("X-Floor-Error") === "csrf" ||
                 response.headers.get("X-Floor-Error") === "other-user") {
        // This page's form token belongs to an earlier sign-in (signed in again in another tab),
        // or someone else signed in since: reloaded, the page knows who is here.
        // This page's form token belongs to an earlier sign-in (signed in again in another tab).
        held = "stale";
      }
      if (held) {
        // No answer to the scan: it stays first in the queue until the operator has acted.
        var hold = new Error(held);
        hold.held = held;
        throw hold;
      }
      var next = response.headers.get("HX-Redirect");
      return response.text().then(function (html) { return { status: response.status, html: html, redirect: next }; });
    }).then(function (answer) {
      self.held = "";
      self.items.splice(self.items.indexOf(scan), 1);
      var removed = scan.seq !== undefined ? self.store.remove("scans", scan.seq) : Promise.resolve();
      self.retryMs = 0;
      self.sending = false;
      var here = (scan.url || self.url) === self.url;
      var verdict = answer.status < 400 ? "ok" : "error";
      var message = "";
      if (here && !answer.redirect) {
        var rendered = self.render(answer.html, answer.status);
        verdict = rendered.verdict;
        message = rendered.message;
      }
      var late = scan.late || Date.now() - scan.at > LATE_MS || self.items.length > 0 || !here || answer.status >= 500;
      var kept = Promise.resolve();
      if (verdict === "error" && late) {
        var problem = { id: scan.id, text: scan.text, extra: scan.extra, message: message || "Not accepted",
                        at: scan.at, screen: scan.screen || "", url: scan.url };
        self.problems.push(problem);
        kept = self.store.put("problems", problem)["catch"](function () {});
      }
      if (answer.redirect) {
        // A start screen answered with the task it opened: the queue carries on there.
        window.floorFeedback && window.floorFeedback("ok", "");
        Promise.all([removed, kept])["catch"](function () {}).then(function () { window.location.assign(answer.redirect); });
        return;
      }
      if (!here) window.floorFeedback && window.floorFeedback(verdict, T("Earlier scan sent"));
      self.show();
      self.pump();
    })["catch"](function (err) {
      // Kept, in place, and tried again: a scan is never dropped for a bad connection or a lost session.
      self.items.forEach(function (s) { s.late = true; });
      self.sending = false;
      if (err && err.held) {
        if (!self.held) {
          window.floorFeedback && window.floorFeedback("error", err.held === "stale"
            ? T("Screen out of date: reload it") : T("Signed out: sign in again"));
        }
        self.held = err.held;
        self.show();
        clearTimeout(self.timer);
        self.timer = setTimeout(function () { self.pump(); }, 10000);  // a sign-in in another tab counts too
        return;
      }
      self.retryMs = Math.min((self.retryMs || 500) * 2, 10000);
      self.show();
      clearTimeout(self.timer);
      self.timer = setTimeout(function () { self.pump(); }, self.retryMs);
    });
  };

  Queue.prototype.render = function (html, status) {
    var target = document.querySelector(this.target);
    if (target && target.id && html.indexOf('id="' + target.id + '"') < 0) {
      // Not this screen's panel but a bare message (an error page's): said, not swapped in, so
      // the panel and the scans after this one stay where they are.
      var text = new DOMParser().parseFromString(html, "text/html").body.textContent.trim();
      var said = status < 400 ? "ok" : "error";
      text = text || T("Not accepted (%(status)s)", { status: status });
      window.floorFeedback && window.floorFeedback(said, text);
      return { verdict: said, message: text };
    }
    if (target) {
      if (window.htmx && htmx.swap) {
        window.floorQueueSwap = true;  // app.js: this swap's feedback is given below, once
        try { htmx.swap(target, html, { swapStyle: "outerHTML" }); } finally { window.floorQueueSwap = false; }
      } else {
        target.outerHTML = html;
      }
    }
    var answered = document.querySelector(this.target) || document.body;
    var verdict = answered.getAttribute("data-feedback") || (status < 400 ? "ok" : "error");
    var message = answered.getAttribute("data-message") || "";
    window.floorFeedback && window.floorFeedback(verdict, message);
    return { verdict: verdict, message: message };
  };

  // Keyboard wedge -----------------------------------------------------------------------------

  // A run of keys is a scanner's when it has a few keys at scanner speed on average: one slow key
  // (a busy handheld, a browser stalled for a moment) does not make a burst a person's, and a
  // thumb never averages 35 ms. A gap as long as the pause that ends a scan begins a new run. In
  // the scan field (`slowStarts`) so does a key as slow as a person's (100 ms) before the run is a
  // burst: what is sent is the field's text, so nothing is lost, and a stall after a burst's first
  // key still ends on the pause. A stall shorter than that (a short code's third key 50 ms late)
  // stays in the run. The Qty box sends the run's own keys, so there only the pause splits them.
  var BURST_MS = 35;
  var BURST_KEYS = 3;
  var PERSON_MS = 100;

  function KeyRun(pauseMs, slowStarts) {
    this.pauseMs = pauseMs;
    this.slowStarts = !!slowStarts;
    this.keys = [];
  }

  // Adds a key; says whether it began a new run (the one before it is then gone).
  KeyRun.prototype.add = function (ch, at) {
    var n = this.keys.length;
    var gap = n ? at - this.keys[n - 1].at : Infinity;
    var fresh = gap >= this.pauseMs || (this.slowStarts && gap >= PERSON_MS && !this.burst());
    if (fresh) this.keys = [];
    this.keys.push({ ch: ch, at: at });
    return fresh;
  };

  KeyRun.prototype.burst = function () {
    var n = this.keys.length;
    if (n < BURST_KEYS) return false;
    return (this.keys[n - 1].at - this.keys[0].at) / (n - 1) < BURST_MS;
  };

  KeyRun.prototype.text = function () {
    return this.keys.map(function (k) { return k.ch; }).join("");
  };

  KeyRun.prototype.clear = function () { this.keys = []; };

  function Wedge(form, queue) {
    this.form = form;
    this.field = form.querySelector("[data-scan-field]");
    this.queue = queue;
    this.prefix = form.getAttribute("data-prefix") || "";
    this.suffix = form.getAttribute("data-suffix") || "";
    this.gs = form.getAttribute("data-gs") || "";
    this.pauseMs = parseInt(form.getAttribute("data-pause-ms") || "80", 10);
    this.maxLen = parseInt(form.getAttribute("data-max-len") || "200", 10);
    this.lastKey = 0;
    this.run = new KeyRun(this.pauseMs, true);
    this.timer = null;
    var self = this;
    this.field.addEventListener("keydown", function (e) { self.keydown(e); });
    this.field.addEventListener("input", function () { self.armPause(); });
    form.addEventListener("submit", function (e) { e.preventDefault(); self.finish("enter"); });
  }

  Wedge.prototype.keydown = function (e) {
    var now = performance.now();
    if (this.refusing) {
      // The rest of a burst already refused as too long is swallowed: refused once, not in pieces.
      if (now - this.lastKey < 1000) {
        this.lastKey = now;
        if (e.key === "Enter" || e.key === "Tab") this.refusing = false;
        if (e.key && (e.key.length === 1 || e.key === "Enter" || e.key === "Tab")) e.preventDefault();
        return;
      }
      this.refusing = false;
    }
    if (e.key && e.key.length === 1) this.run.add(e.key, now);
    this.lastKey = now;
    if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      this.finish(e.key.toLowerCase());
      return;
    }
    // The pause is timed from every key, not only from what reached the field: a burst never
    // breaks into pieces, however long it is.
    if (e.key && e.key.length === 1) this.armPause();
    // Scanners send the GS1 separator as Ctrl+] or as a key named GroupSeparator.
    if (e.key === "GroupSeparator" || (e.ctrlKey && (e.key === "]" || e.code === "BracketRight"))) {
      e.preventDefault();
      this.field.setRangeText(GS, this.field.selectionStart, this.field.selectionEnd, "end");
      this.armPause();
    }
  };

  Wedge.prototype.armPause = function () {
    var self = this;
    clearTimeout(this.timer);
    // Only a burst of scanner-speed keys ends on a pause; a person typing presses Enter.
    if (!this.run.burst()) return;
    this.timer = setTimeout(function () { self.finish("pause"); }, this.pauseMs);
  };

  Wedge.prototype.clean = function (text) {
    if (this.prefix && text.indexOf(this.prefix) === 0) text = text.slice(this.prefix.length);
    if (this.suffix && text.slice(-this.suffix.length) === this.suffix) text = text.slice(0, -this.suffix.length);
    if (this.gs) text = text.split(this.gs).join(GS);
    return text.replace(/^[\r\n\t ]+|[\r\n\t ]+$/g, "");
  };

  Wedge.prototype.finish = function (how) {
    clearTimeout(this.timer);
    var text = this.clean(this.field.value);
    this.field.value = "";
    this.run.clear();
    if (!text) return;
    if (this.tooLong(text, how)) return;
    this.queue.add(text, "wedge:" + how);
    if (this.field.getAttribute("inputmode") === "text") this.field.setAttribute("inputmode", "none");
  };

  Wedge.prototype.send = function (text, how) {
    text = this.clean(text);
    if (text && !this.tooLong(text, how)) this.queue.add(text, "wedge:" + how);
  };

  // A burst longer than any label here is one scan, refused once with its length: never sent in pieces.
  Wedge.prototype.tooLong = function (text, how) {
    if (text.length <= this.maxLen) return false;
    // Ended by a pause, the burst may still be arriving: the rest of it is swallowed.
    this.refusing = /pause$/.test(how || "");
    window.floorFeedback && window.floorFeedback("error", T(
      "That scan was %(n)s characters; labels here have at most %(max)s. Nothing sent.",
      { n: text.length.toLocaleString(), max: this.maxLen }));
    return true;
  };

  // The quantity box --------------------------------------------------------------------------------
  //
  // A person types a few digits here; a scanner types a whole code in a burst. A trigger pulled
  // while the cursor is in this box is still a scan: the burst goes to the queue (with the quantity
  // the person typed, for that scan), and never into the box. The box takes digits only.

  function QtyBox(field, wedge) {
    this.field = field;
    this.wedge = wedge;
    this.run = new KeyRun(wedge.pauseMs);  // the keys of the current run
    this.before = "";  // what the person had typed before the run began
    this.timer = null;
    var self = this;
    field.addEventListener("keydown", function (e) { self.keydown(e); });
    field.addEventListener("input", function () {
      var digits = field.value.replace(/[^0-9]/g, "").slice(0, 6);
      if (digits !== field.value) field.value = digits;
    });
  }

  QtyBox.prototype.finish = function (how) {
    clearTimeout(this.timer);
    var text = this.run.text();
    var wasBurst = this.run.burst();
    this.run.clear();
    if (!wasBurst) return false;
    this.field.value = this.before;  // the burst never stays in the box
    this.wedge.send(text, "qty-" + how);  // reads the box (the person's quantity) for this scan
    return true;
  };

  QtyBox.prototype.keydown = function (e) {
    var now = performance.now();
    var self = this;
    if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      // The end of a burst is a scan; Enter after typed digits hands the keyboard back to the scanner.
      if (!this.finish(e.key.toLowerCase())) this.wedge.field.focus();
      return;
    }
    if (!e.key || e.key.length !== 1 || e.ctrlKey || e.metaKey || e.altKey) return;
    // A new run begins after a pause as long as the one that ends a scan (the timer has sent
    // a burst before it by then).
    var previous = this.run.burst() ? this.run.text() : "";
    if (this.run.add(e.key, now)) {
      if (previous) this.wedge.send(previous, "qty-pause");
      this.before = this.field.value;
    }
    var burst = this.run.burst();
    if (burst || !/[0-9]/.test(e.key)) {
      // A scanner's burst (or a letter) is kept out of the box; what it held before comes back.
      e.preventDefault();
      if (burst) this.field.value = this.before;
    }
    clearTimeout(this.timer);
    // A scanner that sends no Enter ends its burst with a pause, as in the scan field.
    this.timer = setTimeout(function () { self.finish("pause"); }, this.wedge.pauseMs);
  };

  // Camera ---------------------------------------------------------------------------------------

  var DETECTOR_FORMATS = ["ean_13", "ean_8", "upc_a", "upc_e", "code_128", "code_39", "code_93", "codabar", "itf",
                          "qr_code", "data_matrix"];

  function Camera(form, queue) {
    this.queue = queue;
    this.dialog = document.querySelector("[data-camera-dialog]");
    this.video = document.querySelector("[data-camera-video]");
    this.message = document.querySelector("[data-camera-message]");
    this.torch = document.querySelector("[data-torch]");
    this.fileLabel = document.querySelector("[data-camera-file]");
    this.fileInput = document.querySelector("[data-camera-input]");
    this.decodeUrl = document.body.getAttribute("data-decode-url");
    this.csrf = csrfToken(form);
    this.stream = null;
    this.busy = false;
    this.last = { text: "", at: 0 };
    this.detector = null;
    var self = this;
    // Where the browser reads barcodes itself (Chrome on Android), frames are read on the
    // handheld first: no round trip, and the camera still reads with the Wi-Fi gone. What it
    // misses still goes to the server's stronger decoders while there is a connection.
    if (window.BarcodeDetector && BarcodeDetector.getSupportedFormats) {
      BarcodeDetector.getSupportedFormats().then(function (formats) {
        var wanted = formats.filter(function (f) { return DETECTOR_FORMATS.indexOf(f) >= 0; });
        if (wanted.length) self.detector = new BarcodeDetector({ formats: wanted });
      })["catch"](function () { /* the server reads them */ });
    }
    var button = form.querySelector("[data-camera]");
    if (!button || !this.dialog) return;
    button.addEventListener("click", function () { self.open(); });
    document.querySelector("[data-camera-close]").addEventListener("click", function () { self.close(); });
    this.dialog.addEventListener("close", function () { self.stop(); });
    this.torch.addEventListener("click", function () { self.toggleTorch(); });
    this.fileInput.addEventListener("change", function () {
      var file = self.fileInput.files[0];
      self.fileInput.value = "";
      if (!file) return;
      var read = self.detector && window.createImageBitmap
        ? createImageBitmap(file).then(function (bitmap) { return self.detect(bitmap); }, function () { return ""; })
        : Promise.resolve("");
      read.then(function (text) { if (text) self.found(text); else self.send(file, true); });
    });
  }

  Camera.prototype.open = function () {
    var self = this;
    this.dialog.showModal ? this.dialog.showModal() : this.dialog.setAttribute("open", "");
    var live = window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia;
    this.fileLabel.hidden = !!live;
    this.video.hidden = !live;
    if (!live) {
      // No camera stream without HTTPS: a photo from the camera app still works.
      this.say(T("Live camera needs HTTPS. Take a photo of the barcode instead."));
      return;
    }
    this.say(T("Point the camera at a barcode"));
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1280 } }, audio: false })
      .then(function (stream) {
        self.stream = stream;
        self.video.srcObject = stream;
        return self.video.play();
      })
      .then(function () {
        var track = self.stream.getVideoTracks()[0];
        var caps = track.getCapabilities ? track.getCapabilities() : {};
        self.torch.hidden = !caps.torch;
        self.sample();
      })
      .catch(function (err) {
        self.fileLabel.hidden = false;
        self.say(T("The camera could not start (%(why)s). Take a photo instead.", { why: err.name }));
      });
  };

  Camera.prototype.say = function (text) { this.message.textContent = text; };

  Camera.prototype.sample = function () {
    var self = this;
    if (!this.stream) return;
    // A few frames a second is enough to aim, and keeps the server and battery cool.
    setTimeout(function () { self.sample(); }, 300);
    if (this.busy || !this.video.videoWidth) return;
    var scale = Math.min(1, 960 / this.video.videoWidth);
    var canvas = document.createElement("canvas");
    canvas.width = Math.round(this.video.videoWidth * scale);
    canvas.height = Math.round(this.video.videoHeight * scale);
    canvas.getContext("2d").drawImage(this.video, 0, 0, canvas.width, canvas.height);
    this.busy = true;
    this.detect(canvas).then(function (text) {
      if (text) { self.busy = false; self.found(text); return; }
      if (!self.stream) { self.busy = false; return; }
      canvas.toBlob(function (blob) {
        if (!blob) { self.busy = false; return; }
        self.send(blob, false);
      }, "image/jpeg", 0.85);
    });
  };

  // The browser's own reading of an image, or "" where it has none or finds nothing.
  Camera.prototype.detect = function (image) {
    var self = this;
    if (!this.detector) return Promise.resolve("");
    return this.detector.detect(image).then(function (codes) {
      return codes.length ? codes[0].rawValue : "";
    }, function () {
      self.detector = null;  // it failed once; the server reads from now on
      return "";
    });
  };

  Camera.prototype.found = function (text) {
    var now = Date.now();
    // The same code still in view is one scan, not a stream of them.
    if (text === this.last.text && now - this.last.at < 2500) return;
    this.last = { text: text, at: now };
    this.close();
    this.queue.add(text, "camera");
  };

  // A code read from a blurred picture can be another valid code: it is booked only when the next
  // frame (or the next photo) reads the same one. True when this read is that second look.
  Camera.prototype.again = function (text, fromFile) {
    var now = Date.now();
    var seen = this.unsure && this.unsure.text === text && now - this.unsure.at < (fromFile ? 60000 : 3000);
    this.unsure = seen ? null : { text: text, at: now };
    if (!seen) {
      this.say(fromFile ? T("The photo is blurred: take another to make sure of the code.")
                        : T("Blurred: hold still for a second look."));
      if (fromFile) window.floorFeedback && window.floorFeedback("warn", T("Take another photo"));
    }
    return seen;
  };

  Camera.prototype.offline = function (fromFile) {
    var message = this.detector
      ? T("No connection: hold the code steady in the middle, or scan with the trigger.")
      : T("No connection: the camera reads codes on the server. Scan with the trigger, or type the code.");
    this.say(message);
    if (fromFile) window.floorFeedback && window.floorFeedback("error", T("No connection"));
  };

  Camera.prototype.send = function (blob, fromFile) {
    var self = this;
    var body = new FormData();
    body.append("image", blob, "frame.jpg");
    body.append("csrf_token", this.csrf);
    fetch(this.decodeUrl, { method: "POST", body: body, credentials: "same-origin",
                            headers: { "X-CSRFToken": this.csrf, "Accept": "application/json" } })
      .then(function (r) {
        return r.json()["catch"](function () {
          return { error: { message: T("The server could not read that picture (%(status)s). Try again.", { status: r.status }) } };
        });
      })
      .then(function (answer) {
        self.busy = false;
        if (answer.error) { self.say(answer.error.message); if (fromFile) window.floorFeedback("error", answer.error.message); return; }
        if (!answer.results.length) {
          if (fromFile) { self.say(T("No barcode in that photo. Try again, closer.")); window.floorFeedback("warn", T("No barcode found")); }
          return;
        }
        var first = answer.results[0];
        if (first.sure === false && !self.again(first.text, fromFile)) return;
        self.found(first.text);
      })
      ["catch"](function () { self.busy = false; self.offline(fromFile); });
  };

  Camera.prototype.toggleTorch = function () {
    if (!this.stream) return;
    var track = this.stream.getVideoTracks()[0];
    this.torchOn = !this.torchOn;
    track.applyConstraints({ advanced: [{ torch: this.torchOn }] }).catch(function () {});
  };

  Camera.prototype.stop = function () {
    if (this.stream) this.stream.getTracks().forEach(function (t) { t.stop(); });
    this.stream = null;
    this.busy = false;
  };

  Camera.prototype.close = function () {
    this.stop();
    if (this.dialog.open) this.dialog.close();
    window.floorRefocus && window.floorRefocus();
  };

  function start() {
    var form = document.querySelector("form[data-scan-queue]");
    if (!form) return;
    var queue = new Queue(form);
    var wedge = new Wedge(form, queue);
    new Camera(form, queue);
    form.querySelector("[data-keyboard]").addEventListener("click", function () {
      wedge.field.setAttribute("inputmode", "text");
      wedge.field.blur();
      wedge.field.focus();
    });
    window.floorScanQueue = queue;
    // Buttons on a task screen (Confirm, Short, Close, ...) go through the same
    // ordered queue as scans, so a tap never overtakes a scan read before it.
    document.addEventListener("click", function (e) {
      var button = e.target.closest && e.target.closest("button[data-action]");
      if (!button) return;
      e.preventDefault();
      queue.add("", "tap", { action: button.value });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-scan-extra]"), function (field) {
      new QtyBox(field, wedge);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
