// The floor's service worker: a screen opened on this handheld opens again with no network at all.
//
// A handheld's browser reloads a page, or drops a tab it keeps in the
// background, whenever it likes; in a dead spot between the racks that used to
// leave the operator with the browser's "No internet" page and no scan field.
// Here every floor screen is fetched from the server first, as before, and a
// copy is kept; when the server cannot be reached the copy is shown, marked
// as a copy, and the scan queue on it (scan.js, IndexedDB) takes scans as
// ever and sends them when the connection is back.
//
// Only whole pages (navigations) and the fingerprinted static files are kept:
// htmx fragments share their page's URL and must never stand in for it, and
// a POST is never answered from here. Signing in or out empties the pages, so
// one person's screens are not shown to the next.
"use strict";

var PAGES = "floor-pages-v1";
var ASSETS = "floor-assets-v1";
var MAX_PAGES = 40;
var SAVED = "X-Floor-Saved";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== PAGES && k !== ASSETS; })
      .map(function (k) { return caches["delete"](k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0 && url.searchParams.has("v")) {
    event.respondWith(asset(request, url));
  } else if (request.mode === "navigate") {
    if (url.pathname === "/login" || url.pathname === "/logout") {
      event.waitUntil(caches["delete"](PAGES));
      return;
    }
    if (url.pathname.indexOf("/api/") === 0) return;
    event.respondWith(page(request));
  }
});

// A fingerprinted file never changes under its URL: the kept copy is the file.
function asset(request, url) {
  return caches.open(ASSETS).then(function (cache) {
    return cache.match(request).then(function (hit) {
      if (hit) return hit;
      return fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          cache.keys().then(function (keys) {
            // The same file under an older fingerprint is a release ago: let it go.
            keys.forEach(function (k) {
              var old = new URL(k.url);
              if (old.pathname === url.pathname && old.search !== url.search) cache["delete"](k);
            });
            return cache.put(request, copy);
          });
        }
        return response;
      });
    });
  });
}

function page(request) {
  return fetch(request).then(function (response) {
    var type = response.headers.get("Content-Type") || "";
    if (response.redirected && new URL(response.url).pathname === "/login") {
      caches["delete"](PAGES);  // the session ended: whoever signs in next starts with no copies
    } else if (response.ok && !response.redirected && type.indexOf("text/html") === 0) {
      keep(request.url, response.clone());
    }
    return response;
  }, function (error) {
    return caches.open(PAGES).then(function (cache) {
      return cache.match(request.url, { ignoreVary: true });
    }).then(function (hit) {
      return hit ? asCopy(hit) : notKept(error);
    });
  });
}

function keep(key, response) {
  return response.text().then(function (html) {
    var headers = new Headers(response.headers);
    headers.set(SAVED, String(Date.now()));
    return caches.open(PAGES).then(function (cache) {
      return cache.put(key, new Response(html, { status: 200, headers: headers })).then(function () {
        return cache.keys();
      }).then(function (keys) {
        // put() moves a page to the end: the oldest are first.
        return Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_PAGES)).map(function (k) {
          return cache["delete"](k);
        }));
      });
    });
  })["catch"](function () { /* a full disk must not break the page */ });
}

// The kept page, with the time it was kept on its body: app.css shows the band.
function asCopy(hit) {
  var saved = new Date(Number(hit.headers.get(SAVED)) || Date.now());
  var when = ("0" + saved.getHours()).slice(-2) + ":" + ("0" + saved.getMinutes()).slice(-2);
  return hit.text().then(function (html) {
    var headers = new Headers(hit.headers);
    headers["delete"](SAVED);
    return new Response(html.replace("<body", '<body data-offline-copy="' + when + '"'),
                        { status: 200, headers: headers });
  });
}

function notKept() {
  var html = "<!doctype html><html lang=en><meta charset=utf-8>" +
    "<meta name=viewport content='width=device-width, initial-scale=1'><title>No connection · Floor</title>" +
    "<body><h1>No connection</h1><p>This screen was not opened on this handheld before, so there is no copy " +
    "of it. Go back to the screen you came from: scans made there are kept and sent when the connection " +
    "is back.</p></body></html>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}
