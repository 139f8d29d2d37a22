// When the terminal's service does not answer (it restarted, the page was reloaded while it
// was down) the kiosk says so in Persian and English and keeps retrying by itself; a
// service worker (kiosk-sw.js) keeps a copy of the page so a reload still finds it.
"use strict";

import { ui } from "./kiosk-ui.js";

// Used before the catalogue has been fetched (the catalogue's own words replace these).
const FALLBACK = {
  fa: "ارتباط با دستگاه قطع شده است؛ خودکار دوباره وصل می‌شود…",
  en: "Lost contact with the terminal; reconnecting by itself…",
};
const RETRY_MS = 1000;

export function connectionLost(lost) {
  let banner = document.getElementById("connection");
  if (!banner) {
    banner = document.createElement("div");
    banner.id = "connection";
    banner.className = "connection";
    banner.setAttribute("role", "alert");
    document.body.prepend(banner);
  }
  const words = ui.catalogue.connection_lost || FALLBACK;
  banner.textContent = `${words.fa} · ${words.en}`;
  banner.hidden = !lost;
}

export function pause() {
  return new Promise((resolve) => setTimeout(resolve, RETRY_MS));
}

// The catalogue, retried until the terminal answers.
export async function fetchCatalogue() {
  for (;;) {
    try {
      const response = await fetch("/api/catalogue");
      if (response.ok) return await response.json();
    } catch (error) {
      // the terminal is not there (yet): say so and retry
    }
    connectionLost(true);
    await pause();
  }
}

// The page's own files (the document, scripts, styles, fonts, catalogue) go to the worker's
// cache once it runs; it keeps only what its pattern allows.
export function keepPageOffline() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/kiosk-sw.js").catch(() => {});
  navigator.serviceWorker.ready.then((registration) => {
    const files = performance.getEntriesByType("resource").map((entry) => entry.name);
    registration.active.postMessage({ keep: [location.href, ...files] });
  });
}
