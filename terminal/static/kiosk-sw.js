// Keeps the kiosk page's files so that a reload while the terminal service is down
// (restarting) shows the kiosk's own "reconnecting" notice instead of the browser's
// English error page. Network first: a running terminal always serves fresh files.
"use strict";

const CACHE = "evote-kiosk-v1";
const SHELL = /^\/(static\/.*|fonts\/.*|api\/catalogue)?$/;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function kept(address) {
  const url = new URL(address);
  return url.origin === self.location.origin && SHELL.test(url.pathname);
}

// The page names the files it loaded before this worker controlled it.
self.addEventListener("message", (event) => {
  const files = (event.data && event.data.keep) || [];
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(files.filter(kept))));
});

self.addEventListener("fetch", (event) => {
  if (event.request.method !== "GET" || !kept(event.request.url)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(event.request);
      if (response.ok) await cache.put(event.request, response.clone());
      return response;
    } catch (error) {
      const kept = await cache.match(event.request);
      if (kept) return kept;
      throw error;
    }
  })());
});
