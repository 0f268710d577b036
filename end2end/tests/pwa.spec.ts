import { test, expect, type Page } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { a1111Png, hydrated, PASSWORD, register, uniqueName, watch } from './helpers';

// atelier as an installed app: Chromium finds it installable, the service worker keeps the
// pictures a person opened for when the network is gone, drops what only they could see
// when they log out, and Share uses the system's sheet or copies the link.

/** Waits until the service worker runs this page (it takes over on the first visit). */
async function controlled(page: Page) {
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: 15_000 }).toBe(true);
}

/** The record the worker keeps of an asset for the offline page, if any. */
async function kept(page: Page, id: string, cache?: string) {
  return page.evaluate(
    async ([id, cache]) => {
      const found = cache ? await (await caches.open(cache)).match(`/offline/viewed/${id}`) : await caches.match(`/offline/viewed/${id}`);
      return found ? found.json() : null;
    },
    [id, cache] as const,
  );
}

/** The first image asset of the public gallery: its id and title. */
async function firstImage(page: Page): Promise<{ id: string; title: string; prompt: string }> {
  const body = await (await page.request.get('/api/assets')).json();
  const item = body.items.find((i: { media_type: string; preview_url: string | null }) => i.media_type === 'image' && i.preview_url);
  expect(item, 'the demo data has pictures').toBeDefined();
  return { id: item.id, title: item.title, prompt: item.prompt };
}

/** A new member whose page the worker runs, with one PNG uploaded and waiting to be
 * published on the upload page; its card. */
async function memberWithUpload(page: Page, prefix: string, file: string, png: Buffer) {
  await register(page, uniqueName(prefix));
  await expect(page).toHaveURL('/');
  await controlled(page);
  await page.goto('/upload');
  await hydrated(page);
  await page.locator('#upload-files').setInputFiles({ name: file, mimeType: 'image/png', buffer: png });
  const card = page.locator('.upload-card');
  await expect(card.locator('.upload-state')).toHaveText('Uploaded. Check the details, then publish.');
  return card;
}

test('Chromium finds atelier installable, and Install asks the browser', async ({ playwright, launchOptions, baseURL }) => {
  // A profile of its own: Chromium never installs apps from an incognito context (what
  // Playwright's contexts are).
  const profile = mkdtempSync(join(tmpdir(), 'atelier-profile-'));
  const context = await playwright.chromium.launchPersistentContext(profile, { ...launchOptions, baseURL });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = watch(page);
  await page.goto('/');
  await hydrated(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  const cdp = await page.context().newCDPSession(page);
  const manifest = await cdp.send('Page.getAppManifest');
  expect(manifest.errors).toEqual([]);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  expect(installabilityErrors).toEqual([]);

  // Chromium offers to install (`beforeinstallprompt`): the header shows Install, which
  // asks the browser to show its dialog (stood in for here: a headless browser has none).
  await page.evaluate(() => {
    const proto = (window as unknown as { BeforeInstallPromptEvent: { prototype: { prompt: () => Promise<void> } } }).BeforeInstallPromptEvent.prototype;
    proto.prompt = () => {
      (window as unknown as { prompted: boolean }).prompted = true;
      return Promise.resolve();
    };
  });
  await page.getByRole('button', { name: 'Install' }).click();
  expect(await page.evaluate(() => (window as unknown as { prompted?: boolean }).prompted)).toBe(true);
  await expect(page.getByRole('button', { name: 'Install' })).toHaveCount(0);
  expect(problems).toEqual([]);
  await context.close();
  rmSync(profile, { recursive: true, force: true });
});

test.describe('on a phone', () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

  test('pictures a person opened open again offline, from their address or the offline page', async ({ page, context }) => {
    const problems = watch(page);
    const picture = await firstImage(page);
    await page.goto('/');
    await hydrated(page);
    await controlled(page);
    await page.goto(`/a/${picture.id}`);
    await hydrated(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(picture.title);
    // The worker keeps its record and its preview.
    await expect.poll(() => kept(page, picture.id, 'atelier-seen'), { timeout: 10_000 }).toMatchObject({ id: picture.id, title: picture.title, public: true });
    const preview = (await kept(page, picture.id))!.preview as string;
    await expect.poll(() => page.evaluate(async (url) => (await caches.match(url)) !== undefined, preview)).toBe(true);

    await context.setOffline(true);
    // Its own address opens it: picture, title and prompt.
    const offline = await page.goto(`/a/${picture.id}`);
    expect(offline!.fromServiceWorker()).toBe(true);
    await expect(page.getByText('You are offline.')).toBeVisible();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(picture.title);
    if (picture.prompt) await expect(page.locator('.prompt')).toHaveText(picture.prompt.slice(0, 4000));
    const image = page.locator('.offline-asset .media img');
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    // This build's stylesheet came from the worker too.
    expect(await page.locator('.site-header').evaluate((el) => getComputedStyle(el).position)).toBe('sticky');

    // Any other page offline lists what is kept; one it never saw says so.
    await page.goto('/');
    await expect(page.getByRole('heading', { name: 'Saved on this device' })).toBeVisible();
    await page.getByRole('link', { name: picture.title }).first().click();
    await expect(page).toHaveURL(`/a/${picture.id}`);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(picture.title);
    await page.goto('/a/Zzzzzzzzzzzz');
    await expect(page.getByText('This page was not kept on this device.')).toBeVisible();

    // Back online, the real page. (Away from the offline page first: it reloads itself
    // when the connection returns.)
    await page.goto('about:blank');
    await context.setOffline(false);
    await page.goto(`/a/${picture.id}`);
    await hydrated(page);
    await expect(page.getByText('You are offline.')).toHaveCount(0);
    await expect(page.locator('.appreciation')).toBeVisible();
    expect(problems.filter((p) => !p.includes('ERR_INTERNET_DISCONNECTED'))).toEqual([]);
  });
});

test('what only a person may see is dropped from the device when they log out', async ({ page }) => {
  // (Logged out, the private picture's page asks again and is told 404.)
  const problems = watch(page, '40[0134]');
  const card = await memberWithUpload(page, 'own', 'secret_00001_.png', a1111Png(96, 64));
  await card.getByLabel('Title').fill('Only mine');
  await card.getByLabel('Visibility').selectOption('private');
  await card.getByRole('button', { name: 'Publish' }).click();
  await expect(card.locator('.upload-state')).toHaveText('Published');
  await card.getByRole('link', { name: 'View it' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Only mine');
  await hydrated(page);
  const id = new URL(page.url()).pathname.split('/').pop()!;
  // Once its stills are made, the page names them.
  await expect
    .poll(async () => (await (await page.request.get(`/api/asset?id=${id}`)).json()).thumb_url, { timeout: 15_000 })
    .toMatch(/^\/media\//);
  await page.reload();
  await hydrated(page);

  // Kept apart from what anyone may see, with its stills, once they exist.
  await expect.poll(() => kept(page, id, 'atelier-mine'), { timeout: 10_000 }).toMatchObject({ id, public: false });
  expect(await kept(page, id, 'atelier-seen')).toBeNull();
  const record = (await kept(page, id))!;
  const still = record.preview || record.thumb;
  expect(still).toMatch(/^\/media\//);
  await expect.poll(() => page.evaluate(async (url) => (await (await caches.open('atelier-mine')).match(url)) !== undefined, still)).toBe(true);

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('link', { name: 'Log in', exact: true })).toBeVisible();
  // Its record and its stills are gone from the device.
  const stills = [record.thumb, record.preview].filter(Boolean);
  await expect.poll(() => kept(page, id)).toBeNull();
  await expect.poll(() => page.evaluate(async (urls) => (await Promise.all(urls.map((u) => caches.match(u)))).filter(Boolean).length, stills)).toBe(0);
  expect(problems).toEqual([]);
});

test('Share uses the system sheet where there is one, else copies the link', async ({ page, context }) => {
  const problems = watch(page);
  const picture = await firstImage(page);
  // A browser with a share sheet (a phone's): what it is handed.
  await page.addInitScript(() => {
    Object.defineProperty(navigator, 'share', {
      configurable: true,
      value: (data: ShareData) => {
        (window as unknown as { shared: ShareData }).shared = data;
        return Promise.resolve();
      },
    });
  });
  await page.goto(`/a/${picture.id}`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Share' }).click();
  await expect.poll(() => page.evaluate(() => (window as unknown as { shared?: ShareData }).shared)).toEqual({
    title: picture.title,
    url: new URL(`/a/${picture.id}`, page.url()).href,
  });

  // One without (most desktops'): the link goes to the clipboard.
  const desktop = await context.newPage();
  await desktop.addInitScript(() => {
    delete (Navigator.prototype as { share?: unknown }).share;
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await desktop.goto(`/a/${picture.id}`);
  await hydrated(desktop);
  expect(await desktop.evaluate(() => 'share' in navigator)).toBe(false);
  await desktop.getByRole('button', { name: 'Share' }).click();
  await expect(desktop.getByRole('button', { name: 'Link copied' })).toBeVisible();
  expect(await desktop.evaluate(() => navigator.clipboard.readText())).toBe(new URL(`/a/${picture.id}`, desktop.url()).href);
  expect(problems).toEqual([]);
});

test('two PNGs shared from another app upload with their prompts filled in, after logging in first', async ({ page, browser, baseURL }) => {
  const problems = watch(page);
  // Someone who has an account and opened atelier on this phone before (so its worker runs).
  const name = uniqueName('sharer');
  const elsewhere = await browser.newContext({ baseURL });
  const signup = await elsewhere.newPage();
  await register(signup, name);
  await expect(signup).toHaveURL('/');
  await elsewhere.close();
  await page.goto('/');
  await hydrated(page);
  await controlled(page);

  // Another app shares two PNGs: the system posts them, as the manifest's share_target
  // says, from outside the site (no cookie goes with it).
  const pngs = [a1111Png(96, 64), a1111Png(64, 96)].map((png) => png.toString('base64'));
  await page.goto('about:blank');
  await page.evaluate(
    ([action, pngs]) => {
      const form = document.createElement('form');
      form.method = 'POST';
      form.enctype = 'multipart/form-data';
      form.action = action;
      const input = document.createElement('input');
      input.type = 'file';
      input.name = 'files';
      input.multiple = true;
      const files = new DataTransfer();
      pngs.forEach((png, i) => {
        const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
        files.items.add(new File([bytes], `ComfyUI_0000${i + 1}_.png`, { type: 'image/png' }));
      });
      input.files = files.files;
      form.append(input);
      document.body.append(form);
      form.submit();
    },
    [new URL('/share-target', baseURL).href, pngs] as const,
  );

  // Not logged in: the upload page asks to log in first; the files wait on the device.
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL('/upload');
  // Any site could post to the share target: nothing uploads until the person says so.
  await expect(page.getByText('2 files were shared with atelier from another app.')).toBeVisible();
  const cards = page.locator('.upload-card');
  await expect(cards).toHaveCount(0);
  await page.getByRole('button', { name: 'Upload them' }).click();
  await expect(cards).toHaveCount(2);
  for (const card of await cards.all()) {
    await expect(card.locator('.upload-state')).toHaveText('Uploaded. Check the details, then publish.', { timeout: 15_000 });
    await expect(card.getByLabel('Prompt', { exact: true })).toHaveValue('a lighthouse on a cliff at dawn, volumetric light');
    await expect(card.getByLabel('Model')).toHaveValue('forge_test_model');
  }
  const sharedLeft = () => page.evaluate(async () => ((await caches.has('atelier-shared')) ? (await (await caches.open('atelier-shared')).keys()).length : 0));
  expect(await sharedLeft()).toBe(2);
  // Each is forgotten on the device once published.
  for (const card of await cards.all()) {
    await card.getByRole('button', { name: 'Publish' }).click();
    await expect(card.locator('.upload-state')).toHaveText('Published');
  }
  await expect.poll(sharedLeft).toBe(0);
  expect(problems).toEqual([]);
});

test('a new build waits for "Reload to update", which never shows while an upload is unfinished', async ({ page }) => {
  const problems = watch(page);
  const card = await memberWithUpload(page, 'upd', 'pending_00001_.png', a1111Png(80, 60));

  // A new build's worker arrives and waits. (The same script under another address is a
  // new worker to the browser, as a new build's /sw.js is.)
  await page.evaluate(() => navigator.serviceWorker.register('/sw.js?build=next'));
  await expect.poll(() => page.evaluate(async () => Boolean((await navigator.serviceWorker.getRegistration())?.waiting)), { timeout: 15_000 }).toBe(true);
  // Not while the picture waits to be published: a reload would lose it.
  const prompt = page.getByRole('button', { name: 'Reload to update' });
  await page.waitForTimeout(500);
  await expect(prompt).toHaveCount(0);
  await card.getByRole('button', { name: 'Publish' }).click();
  await expect(card.locator('.upload-state')).toHaveText('Published');
  await expect(page.getByText('A new version of atelier is ready.')).toBeVisible();

  // Pressing it lets the new worker take over and reloads the page under it.
  await page.evaluate(() => Object.assign(window, { beforeUpdate: true }));
  const reloaded = page.waitForEvent('load');
  await prompt.click();
  await reloaded;
  expect(await page.evaluate(() => 'beforeUpdate' in window)).toBe(false);
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? '')).toContain('build=next');
  expect(problems).toEqual([]);
});
