// The offline page: lists the assets this device kept (see sw.js, `viewed`) and shows one
// when the address is /a/{id} or the page's #a={id}. It reads the service worker's caches
// directly and builds the page with DOM calls only (no HTML from stored text).
'use strict';

const VIEWED_PREFIX = '/offline/viewed/';
const RECORD_CACHES = ['atelier-mine', 'atelier-seen'];

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null && value !== '') node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === '') continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function records() {
  const found = new Map();
  if (!('caches' in self)) return [];
  for (const name of RECORD_CACHES) {
    if (!(await caches.has(name))) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const path = new URL(request.url).pathname;
      if (!path.startsWith(VIEWED_PREFIX)) continue;
      const response = await cache.match(request);
      try {
        const record = await response.json();
        if (record && typeof record.id === 'string' && !found.has(record.id)) found.set(record.id, record);
      } catch (error) {
        // A record that does not read is skipped.
      }
    }
  }
  return [...found.values()].sort((a, b) => (b.at || 0) - (a.at || 0));
}

function wanted() {
  const fromPath = /^\/a\/([A-Za-z0-9_-]{1,64})$/.exec(location.pathname);
  if (fromPath) return fromPath[1];
  const fromHash = /^#a=([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
  return fromHash ? fromHash[1] : null;
}

function box(record) {
  return record.width > 0 && record.height > 0 ? `aspect-ratio: ${record.width} / ${record.height}` : 'aspect-ratio: 1 / 1';
}

function card(record) {
  const href = `/a/${record.id}`;
  const picture = record.thumb ? element('img', { src: record.thumb, alt: '', loading: 'lazy', decoding: 'async' }) : null;
  return element(
    'li',
    {},
    element(
      'article',
      { class: 'card', 'data-id': record.id },
      element('a', { class: 'thumb', href, style: box(record), 'aria-label': `Look at “${record.title}”` }, picture, record.video ? element('span', { class: 'badge' }, '▶ video') : null),
      element('h2', { class: 'card-title' }, element('a', { href }, record.title || record.id)),
      element('div', { class: 'card-foot' }, element('p', { class: 'card-meta' }, record.owner)),
    ),
  );
}

function list(all) {
  if (all.length === 0) {
    return element('p', { class: 'hint' }, 'Nothing is kept on this device yet: the pictures you open while online are kept here for when you are not.');
  }
  return element('div', {}, element('h1', {}, 'Saved on this device'), element('ul', { class: 'grid offline-grid' }, ...all.map(card)));
}

function detail(record) {
  const still = record.preview || record.thumb;
  const media = still ? element('img', { src: still, alt: record.title }) : element('div', { class: 'no-file' }, 'This picture was not kept on this device.');
  const facts = element(
    'div',
    { class: 'facts' },
    element('h1', {}, record.title || record.id),
    element('p', { class: 'card-meta' }, `by ${record.owner}`),
    record.prompt ? element('h2', {}, 'Prompt') : null,
    record.prompt ? element('p', { class: 'prompt' }, record.prompt) : null,
    record.model ? element('dl', {}, element('dt', {}, 'Model'), element('dd', {}, record.model)) : null,
    record.tags.length ? element('ul', { class: 'tags' }, ...record.tags.map((tag) => element('li', {}, tag))) : null,
    element('p', {}, element('a', { href: '/offline.html' }, 'Everything saved on this device')),
  );
  return element('article', { class: 'page asset-detail offline-asset' }, element('div', { class: 'media', style: box(record) }, media), facts);
}

async function show() {
  const content = document.getElementById('offline-content');
  const all = await records();
  const id = wanted();
  const record = id ? all.find((r) => r.id === id) : null;
  content.replaceChildren();
  if (id && !record) {
    content.append(element('p', { class: 'hint' }, 'This page was not kept on this device.'));
  }
  content.append(record ? detail(record) : list(all));
  document.title = record ? `${record.title} · offline · atelier` : 'Offline · atelier';
}

document.addEventListener('DOMContentLoaded', () => {
  // The page that could not load, again (from the offline page itself: the gallery).
  const retry = () => {
    if (location.pathname === '/offline.html') location.assign('/');
    else location.reload();
  };
  document.getElementById('retry').addEventListener('click', retry);
  // When the browser thinks the connection is back, and the server answers, go back.
  addEventListener('online', async () => {
    try {
      const health = await fetch('/healthz', { cache: 'no-store' });
      if (health.ok) retry();
    } catch (error) {
      // Still offline after all.
    }
  });
  show();
});
