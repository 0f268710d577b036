import { test, expect, type APIRequestContext, type Page } from '@playwright/test';

type Item = { id: string; title: string; media_type: 'image' | 'video'; thumb_url: string | null };
type AssetPage = { items: Item[]; next_cursor: string | null };

async function apiPage(request: APIRequestContext, cursor?: string): Promise<AssetPage> {
  const url = cursor ? `/api/assets?cursor=${cursor}` : '/api/assets';
  const res = await request.get(url);
  expect(res.ok()).toBeTruthy();
  return res.json();
}

/** Collects console errors and warnings and uncaught exceptions. */
function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the home page shows the newest seeded assets, and "Next page" is a link to the next page', async ({ page, request }) => {
    const first = await apiPage(request);
    const second = await apiPage(request, first.next_cursor!);
    await page.goto('/');
    const titles = page.locator('ul.grid .card-title');
    await expect(titles).toHaveText(first.items.map((i) => i.title));
    await expect(page.locator('ul.grid .card img').first()).toHaveAttribute('src', /^\/media\/[A-Za-z0-9]{12}\/thumb\?v=[0-9a-f]{16}$/);

    await page.getByRole('link', { name: 'Next page' }).click();
    await expect(page).toHaveURL(/\/\?cursor=/);
    await expect(titles).toHaveText(second.items.map((i) => i.title));
  });

  test('an asset page shows the picture, the prompt and the tags', async ({ page, request }) => {
    const first = await apiPage(request);
    const image = first.items.find((i) => i.media_type === 'image')!;
    await page.goto('/');
    await page.locator('ul.grid').getByRole('link', { name: image.title, exact: true }).click();
    await expect(page).toHaveURL(`/a/${image.id}`);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(image.title);
    const detail = await (await request.get(`/api/asset?id=${image.id}`)).json();
    await expect(page.locator('p.prompt:not(.negative)')).toHaveText(detail.prompt);
    await expect(page.locator('.tags li')).toHaveText(detail.tags);
    const img = page.locator('.media img');
    // The asset page shows the 1024 px still, linked to the original.
    await expect(img).toHaveAttribute('src', detail.preview_url ?? detail.media_url);
    await expect(page.locator('.media a.original-link')).toHaveAttribute('href', detail.media_url);
    expect(await img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0)).toBeTruthy();
  });
});

test.describe('with JavaScript', () => {
  test('scrolling to the end appends the next page without a reload, and the console stays clean', async ({ page, request }) => {
    const problems = watchConsole(page);
    const first = await apiPage(request);
    const second = await apiPage(request, first.next_cursor!);

    await page.goto('/');
    await expect(page.locator('body[data-hydrated]')).toBeAttached();
    const titles = page.locator('ul.grid .card-title');
    // A marker on the window survives only if the document is never reloaded.
    await page.evaluate(() => ((window as any).__sameDocument = true));

    await page.locator('.more').scrollIntoViewIfNeeded();
    await expect.poll(() => titles.count()).toBeGreaterThanOrEqual(first.items.length + second.items.length);
    const shown = await titles.allTextContents();
    expect(shown.slice(0, first.items.length + second.items.length)).toEqual(
      [...first.items, ...second.items].map((i) => i.title),
    );
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
    expect(new URL(page.url()).search).toBe('');
    expect(problems).toEqual([]);
  });

  test('a demo video plays in the browser', async ({ page, request }) => {
    const problems = watchConsole(page);
    let cursor: string | undefined;
    let video: Item | undefined;
    while (!video) {
      const p = await apiPage(request, cursor);
      video = p.items.find((i) => i.media_type === 'video');
      if (!p.next_cursor) break;
      cursor = p.next_cursor;
    }
    expect(video, 'the demo data has videos').toBeDefined();
    await page.goto(`/a/${video!.id}`);
    const el = page.locator('.media video');
    const detail = await (await request.get(`/api/asset?id=${video!.id}`)).json();
    await expect(el).toHaveAttribute('poster', detail.preview_url);
    const decoded = await el.evaluate(async (v: HTMLVideoElement) => {
      v.muted = true;
      if (v.readyState < 2) {
        await new Promise((resolve, reject) => {
          v.addEventListener('loadeddata', resolve, { once: true });
          v.addEventListener('error', () => reject(new Error(`media error ${v.error?.code}`)), { once: true });
          v.load();
        });
      }
      return { width: v.videoWidth, height: v.videoHeight, duration: v.duration };
    });
    expect(decoded.width).toBeGreaterThan(0);
    expect(decoded.height).toBeGreaterThan(0);
    expect(decoded.duration).toBeCloseTo(2, 1);
    expect(problems).toEqual([]);
  });
});

test('the front end comes from the binary: hashed names, brotli, immutable caching', async ({ page, request }) => {
  await page.goto('/');
  const scripts = await page.locator('link[rel="modulepreload"]').evaluateAll((els) =>
    els.map((e) => e.getAttribute('href')),
  );
  expect(scripts).toHaveLength(1);
  expect(scripts[0]).toMatch(/^\/pkg\/atelier\.[A-Za-z0-9_-]+\.js$/);
  const res = await request.get(scripts[0]!, { headers: { 'accept-encoding': 'br, gzip' } });
  expect(res.status()).toBe(200);
  expect(res.headers()['content-encoding']).toBe('br');
  expect(res.headers()['cache-control']).toContain('immutable');
  const css = await page.locator('link[rel="stylesheet"]').getAttribute('href');
  expect(css).toMatch(/^\/pkg\/atelier\.[A-Za-z0-9_-]+\.css$/);
  const health = await request.get('/healthz');
  expect(health.status()).toBe(200);
});
