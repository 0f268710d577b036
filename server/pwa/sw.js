// atelier's service worker. server/build.rs names it after the build (VERSION) and lists
// the files of that build it keeps (PRECACHE); the binary serves it at /sw.js.
//
// What it keeps, and for whom:
// - this build's front end and the offline page, in a cache named after the build;
// - thumbnails and previews the person has seen, and a short record of each asset they
//   opened (title, prompt, model, tags), so that pictures they looked at open offline.
//   What anyone may see goes to `atelier-seen`; what only the logged-in person may see
//   (a private asset's media and record) to `atelier-mine`, which is dropped when they log
//   out or someone else logs in. Pages and API answers, which depend on who is logged in,
//   are never kept.
// Both media caches are bounded, least recently used first out.
'use strict';

const VERSION = "__VERSION__";
const PRECACHE = [/* PRECACHE */];

const SHELL = `atelier-shell-${VERSION}`;
const SEEN = 'atelier-seen';
const MINE = 'atelier-mine';
const STATE = 'atelier-state';
const SHARED = 'atelier-shared';
const OFFLINE_PAGE = '/offline.html';
const VIEWED_PREFIX = '/offline/viewed/';
const WHO_KEY = '/offline/who';

// Most entries of each kind kept per cache; past it the least recently used go.
const MAX_THUMBS = 600;
const MAX_PREVIEWS = 150;
const MAX_VIEWED = 150;
// Longest text kept of an asset's record (the page shows the whole prompt).
const MAX_RECORD_TEXT = 4000;
const MAX_RECORD_TAGS = 40;
// A still for the offline page that takes longer than this is left out.
const STILL_FETCH_TIMEOUT_MS = 20000;

// Files shared into atelier from another app (the manifest's `share_target`): at most this
// many per share are kept; the upload page takes them from `atelier-shared`.
const SHARE_TARGET = '/share-target';
const MAX_SHARED_FILES = 20;

// Logging in, out or registering changes whose private media may be shown.
const AUTH_CHANGES = new Set(['/api/login', '/api/logout', '/api/register']);

const precached = new Set(PRECACHE);

// Every change to the media caches runs one after another: a change of person (which
// drops `atelier-mine`) must not interleave with a record or still being put there.
let queue = Promise.resolve();
// Goes up whenever `atelier-mine` is dropped: a still fetched before a change of person
// is not put there after it.
let generation = 0;
function serially(task) {
  const run = queue.then(task);
  queue = run.catch(() => {});
  return run;
}

// A cache that exists, without making it (opening one makes it).
async function existing(name) {
  return (await caches.has(name)) ? caches.open(name) : null;
}

self.addEventListener('install', (event) => {
  // Waits (does not take over) until the page asks: a new build never replaces the one a
  // page is running, and never mid-upload (the page does not offer to reload then).
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(PRECACHE)));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names
          .filter((name) => name.startsWith('atelier-shell-') && name !== SHELL)
          .map((name) => caches.delete(name)),
      );
      if (self.registration.navigationPreload) {
        await self.registration.navigationPreload.enable();
      }
      // The first worker takes the open pages at once, so what they show is kept.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  const data = event.data || {};
  if (data.type === 'skip-waiting') {
    self.skipWaiting();
  } else if (data.type === 'who') {
    event.waitUntil(serially(() => who(typeof data.user === 'string' ? data.user : null)));
  } else if (data.type === 'viewed') {
    event.waitUntil(viewed(data.asset));
  }
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === 'POST' && url.pathname === SHARE_TARGET) {
    event.respondWith(receiveShare(request));
    return;
  }
  if (request.method === 'POST' && AUTH_CHANGES.has(url.pathname)) {
    event.respondWith(authChange(request));
    return;
  }
  if (request.method !== 'GET') return;
  if (request.mode === 'navigate') {
    event.respondWith(navigate(event));
    return;
  }
  if (precached.has(url.pathname)) {
    event.respondWith(fromShell(request));
    return;
  }
  const kind = mediaKind(url);
  if (kind) event.respondWith(media(event, request, kind));
  // Anything else (the API, originals, video) goes to the network untouched.
});

// Pages come from the server; without a connection, the offline page answers (it shows
// the asset of an /a/{id} address when its record is kept).
async function navigate(event) {
  try {
    const preloaded = await event.preloadResponse;
    if (preloaded) return preloaded;
    return await fetch(event.request);
  } catch (error) {
    const offline = await caches.match(OFFLINE_PAGE, { cacheName: SHELL });
    return offline || Response.error();
  }
}

async function fromShell(request) {
  const cached = await caches.match(request, { cacheName: SHELL, ignoreVary: true });
  return cached || fetch(request);
}

// `thumb` or `preview` for an asset's still; null for anything else (originals, video).
function mediaKind(url) {
  const match = /^\/media\/[A-Za-z0-9_-]+\/(thumb|preview)$/.exec(url.pathname);
  return match ? match[1] : null;
}

// A kept still answers at once (its address names its content: `v=`); one not kept yet
// comes from the network and is kept when the server allows it.
async function media(event, request, kind) {
  const cached = await caches.match(request, { ignoreVary: true });
  if (cached) {
    const copy = cached.clone();
    event.waitUntil(serially(() => touch(request, copy)));
    return cached;
  }
  const fetchedIn = generation;
  const response = await fetch(request);
  const copy = response.clone();
  event.waitUntil(serially(() => keep(request, copy, kind, fetchedIn)));
  return response;
}

// Only whole answers whose address names their content are kept: `public, … immutable`
// ones for everyone on this device, `private, … immutable` ones until the person changes.
async function keep(request, response, kind, fetchedIn) {
  if (response.status !== 200 || response.headers.has('content-range')) return;
  const control = response.headers.get('cache-control') || '';
  if (!control.includes('immutable')) return;
  const name = control.includes('private') ? MINE : SEEN;
  if (name === MINE && fetchedIn !== generation) return;
  const cache = await caches.open(name);
  await cache.put(request, response);
  await trim(cache, kind === 'thumb' ? MAX_THUMBS : MAX_PREVIEWS, (path) => mediaKind(new URL(path, self.location.origin)) === kind);
}

// Moves an entry to the end of its cache (keys come back in the order they were put).
async function touch(request, response) {
  for (const name of [SEEN, MINE]) {
    const cache = await existing(name);
    if (cache && (await cache.delete(request, { ignoreVary: true }))) {
      await cache.put(request, response);
      return;
    }
  }
}

async function trim(cache, max, belongs) {
  const keys = (await cache.keys()).filter((key) => belongs(new URL(key.url).pathname));
  const excess = keys.length - max;
  for (let i = 0; i < excess; i += 1) {
    await cache.delete(keys[i]);
  }
}

// The page says who is logged in (a username, or null); when that changes, what the last
// person alone could see goes.
async function who(user) {
  const state = await caches.open(STATE);
  const known = await state.match(WHO_KEY);
  const before = known ? (await known.json()).user : undefined;
  if (before !== user) {
    generation += 1;
    await caches.delete(MINE);
    await state.put(WHO_KEY, json({ user }));
  }
}

async function authChange(request) {
  const response = await fetch(request);
  await serially(async () => {
    generation += 1;
    await caches.delete(MINE);
    const state = await caches.open(STATE);
    await state.delete(WHO_KEY);
  });
  return response;
}

// A share from another app arrives as a cross-site POST that carries no session cookie:
// the files are kept on the device and the upload page takes them (after logging in, if
// need be), as if they had been chosen there.
async function receiveShare(request) {
  let form;
  try {
    form = await request.formData();
  } catch (error) {
    return Response.redirect('/upload?shared=0', 303);
  }
  const files = form
    .getAll('files')
    .filter((file) => file instanceof File && file.size > 0)
    .slice(0, MAX_SHARED_FILES);
  const stamp = Date.now();
  const keys = files.map((_, index) => `/shared/${stamp}-${String(index).padStart(3, '0')}`);
  try {
    await serially(async () => {
      const cache = await caches.open(SHARED);
      for (const [index, file] of files.entries()) {
        await cache.put(
          keys[index],
          new Response(file, {
            headers: {
              'content-type': file.type || 'application/octet-stream',
              'x-file-name': encodeURIComponent((file.name || 'shared file').toWellFormed()),
              'x-last-modified': String(file.lastModified || stamp),
            },
          }),
        );
      }
    });
  } catch (error) {
    // No room on the device (or a name that cannot be kept): none of this share is kept.
    const cache = await caches.open(SHARED);
    await Promise.all(keys.map((key) => cache.delete(key)));
    return Response.redirect('/upload?shared=failed', 303);
  }
  return Response.redirect(`/upload?shared=${files.length}`, 303);
}

// The record of an asset the person opened, and its stills, for the offline page. The
// record is put in the queue; the stills are fetched outside it (a slow network must not
// hold up logging out) and put in it, unless the person changed meanwhile.
async function viewed(asset) {
  const record = cleanRecord(asset);
  if (!record) return;
  const fetchedIn = generation;
  await serially(async () => {
    const key = VIEWED_PREFIX + record.id;
    const [home, other] = record.public ? [SEEN, MINE] : [MINE, SEEN];
    const elsewhere = await existing(other);
    if (elsewhere) await elsewhere.delete(key);
    const cache = await caches.open(home);
    await cache.delete(key);
    await cache.put(key, json(record));
    await trim(cache, MAX_VIEWED, (path) => path.startsWith(VIEWED_PREFIX));
  });
  for (const [address, kind] of [[record.preview, 'preview'], [record.thumb, 'thumb']]) {
    if (!address) continue;
    const request = new Request(address, { credentials: 'same-origin' });
    if (await caches.match(request, { ignoreVary: true })) continue;
    try {
      const response = await fetch(request, { signal: AbortSignal.timeout(STILL_FETCH_TIMEOUT_MS) });
      await serially(() => keep(request, response, kind, fetchedIn));
    } catch (error) {
      // Offline or slow now: the record is kept without this still.
    }
  }
}

// Takes only the fields the offline page shows, as strings of bounded length, and only
// this site's media addresses.
function cleanRecord(asset) {
  if (!asset || typeof asset !== 'object') return null;
  const text = (value) => (typeof value === 'string' ? value.slice(0, MAX_RECORD_TEXT) : '');
  const id = text(asset.id);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return null;
  const still = (value) => {
    const address = text(value);
    return mediaKind(new URL(address || '/', self.location.origin)) && address.startsWith('/media/') ? address : '';
  };
  return {
    id,
    title: text(asset.title),
    owner: text(asset.owner),
    prompt: text(asset.prompt),
    model: text(asset.model),
    video: asset.video === true,
    width: size(asset.width),
    height: size(asset.height),
    tags: Array.isArray(asset.tags) ? asset.tags.slice(0, MAX_RECORD_TAGS).map(text) : [],
    thumb: still(asset.thumb),
    preview: still(asset.preview),
    public: asset.public === true,
    at: Date.now(),
  };
}

// A picture's width or height in pixels, or 0 when it is not a plausible one.
function size(value) {
  return Number.isInteger(value) && value > 0 && value <= 100000 ? value : 0;
}

function json(value) {
  return new Response(JSON.stringify(value), {
    headers: { 'content-type': 'application/json' },
  });
}
