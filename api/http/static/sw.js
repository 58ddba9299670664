// The player's helper: <video> cannot send an Authorization header, so this
// worker adds the signed-in tab's bearer token to its requests for playback
// copies. It asks the tab for the token on every request (a worker may be
// stopped and restarted at any time) and never stores it.
"use strict";

const PLAYBACK_PATH = /^\/api\/v1\/(evidence|recordings)\/[^/]+\/playback$/;
const TOKEN_WAIT_MS = 5000;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// A page loaded without the worker (a hard reload) asks to be taken over.
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "claim") {
    event.waitUntil(self.clients.claim());
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin ||
      !PLAYBACK_PATH.test(url.pathname) || request.headers.has("Authorization")) {
    return; // everything else goes to the network untouched
  }
  event.respondWith(fetchWithToken(request, event.clientId));
});

async function fetchWithToken(request, clientId) {
  const token = await tokenOf(clientId);
  const headers = new Headers(request.headers); // keeps Range and If-Range
  if (token) {
    headers.set("Authorization", "Bearer " + token);
  }
  // Without a token the API answers 401 and the page shows why.
  return fetch(request.url, { headers, credentials: "omit", cache: "no-store", redirect: "error" });
}

async function tokenOf(clientId) {
  const client = clientId ? await self.clients.get(clientId) : null;
  if (!client) {
    return null;
  }
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), TOKEN_WAIT_MS);
    channel.port1.onmessage = (reply) => {
      clearTimeout(timer);
      resolve(reply.data && typeof reply.data.token === "string" ? reply.data.token : null);
    };
    client.postMessage({ type: "token-request" }, [channel.port2]);
  });
}
