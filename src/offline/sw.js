// The studio's service worker, written into dist/sw.js by offline-plugin.ts with the build's file list. It keeps a
// copy of the app so the studio opens without a network after the first load. Models (Cache Storage) and data
// (IndexedDB) are the app's own and need nothing from here. A new build installs beside the old one and waits:
// the page activates it on its next load (offline.svelte.ts), so a running page never mixes two builds' files.
const VERSION = '__STUDIO_VERSION__';
const FILES = __STUDIO_FILES__;
const PREFIX = 'instruct-studio-app-';
const CACHE = PREFIX + VERSION;
const INDEX = new URL('./index.html', self.registration.scope).href;
const PRECACHED = new Set(FILES.map((f) => new URL(f, self.registration.scope).href));

self.addEventListener('install', (event) => {
  // 'reload' skips the HTTP cache, so the copy is the server's current build.
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES.map((f) => new Request(f, { cache: 'reload' })))));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    // The first install takes the open page at once, so it works offline without a second load.
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data === 'activate-update') event.waitUntil(self.skipWaiting());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  url.search = '';
  url.hash = '';
  // Every page is index.html (routes live in the hash; ?bundle= is read by the app).
  const key = request.mode === 'navigate' && url.href.startsWith(self.registration.scope) ? INDEX : url.href;
  if (!PRECACHED.has(key)) return; // models, the Hub, the teacher API: straight to the network
  event.respondWith((async () => (await (await caches.open(CACHE)).match(key)) ?? fetch(request))());
});
