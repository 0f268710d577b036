import { test, expect, type APIRequestContext, type Browser, type Page } from '@playwright/test';
import { deflateSync } from 'node:zlib';

import { ADMIN, hydrated, logIn, pngChunk, register, uniqueName, watch } from './helpers';

type Series = { feature: string; events: number[]; users: number[] };
type Usage = { range: string; days: string[]; features: Series[]; active_users: number[] };
type Totals = { users: number; assets: number; images: number; videos: number; creators: number; storage_bytes: number };

const FEATURES = [
  'register',
  'login',
  'logout',
  'upload_started',
  'upload_finished',
  'upload_failed',
  'asset_viewed',
  'search',
  'download',
  'asset_edited',
  'asset_trashed',
  'asset_restored',
  'asset_purged',
  'bulk_edit',
  'asset_liked',
  'collection_changed',
  'share_opened',
];

/** A small real PNG, different for each `seed` (so no two tests share its bytes). */
function png(seed: number): Buffer {
  const [width, height] = [24, 16];
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 2;
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) row.writeUInt8((x * 9 + y * 3 + seed) & 255, 1 + x * 3);
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Each feature's uses in the last week, as the admin's API reports them. */
async function weekTotals(request: APIRequestContext): Promise<Record<string, number>> {
  const res = await request.get('/api/stats/usage?range=7d');
  expect(res.ok(), await res.text()).toBeTruthy();
  const usage: Usage = await res.json();
  expect(usage.days).toHaveLength(7);
  return Object.fromEntries(usage.features.map((s) => [s.feature, s.events.reduce((a, b) => a + b, 0)]));
}

/** A page logged in as the instance's admin, in a context of its own. */
async function adminPage(browser: Browser, javaScriptEnabled = true): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  await logIn(page, ADMIN);
  return page;
}

/** Uploads a file as a script does (any page's cookies); returns the new asset's id. */
async function scriptUpload(page: Page, title: string, bytes: Buffer): Promise<string> {
  const res = await page.request.post('/api/upload/form', {
    multipart: { title, file: { name: 'script.png', mimeType: 'image/png', buffer: bytes } },
  });
  expect(res.status(), await res.text()).toBe(201);
  return (await res.json()).asset_id;
}

/** Uploads a file through the plain form; returns the new asset's id (or null if refused). */
async function plainUpload(page: Page, title: string, name: string, bytes: Buffer): Promise<string | null> {
  await page.goto('/upload');
  await page.getByLabel('Title').fill(title);
  await page.locator('#plain-file').setInputFiles({ name, mimeType: 'image/png', buffer: bytes });
  await page.getByRole('button', { name: 'Upload' }).click();
  const url = page.url();
  const id = /\/a\/([A-Za-z0-9]{12})$/.exec(url);
  return id ? id[1] : null;
}

test.describe('usage statistics', () => {
  test('every feature a person uses is counted, and an admin sees it', async ({ browser }) => {
    const admin = await adminPage(browser);
    const before = await weekTotals(admin.request);

    // Without JavaScript, a new member does one of everything.
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const name = uniqueName('counted');
    await register(page, name);
    await expect(page).toHaveURL('/');
    await page.getByRole('button', { name: 'Log out' }).click();
    await logIn(page, name);
    const id = await plainUpload(page, 'Counted lighthouse', 'counted.png', png(Date.now() % 251));
    expect(id, 'the upload was published').not.toBeNull();
    const refused = await plainUpload(page, 'Not a picture', 'fake.png', Buffer.from('<!doctype html><p>hi</p>'));
    expect(refused).toBeNull();
    await page.goto('/?q=lighthouse&type=image');
    await expect(page.locator('article.card').first()).toBeVisible();
    const download = await page.request.get(`/media/${id}/original`);
    expect(download.ok()).toBeTruthy();
    await context.close();
    // Someone else looks at it.
    await admin.goto(`/a/${id}`);
    await expect(admin.getByRole('heading', { level: 1 })).toHaveText('Counted lighthouse');

    const expected: Record<string, number> = {
      register: 1,
      login: 1,
      logout: 1,
      upload_started: 2,
      upload_finished: 1,
      upload_failed: 1,
      asset_viewed: 1,
      search: 1,
      download: 1,
      asset_edited: 0,
      asset_trashed: 0,
      asset_restored: 0,
      asset_purged: 0,
      bulk_edit: 0,
      asset_liked: 0,
      collection_changed: 0,
      share_opened: 0,
    };
    // Events are stored in batches a moment later.
    await expect
      .poll(async () => {
        const after = await weekTotals(admin.request);
        return FEATURES.filter((f) => after[f] - before[f] < expected[f]);
      }, { timeout: 10_000 })
      .toEqual([]);

    // Her profile counts the view (counted in the writer's next batch); her own view of it
    // shows her storage too.
    await expect
      .poll(async () => {
        const profile = await (await admin.request.get(`/api/profile?username=${name}`)).json();
        return profile.views_received;
      }, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(1);
    const profile = await (await admin.request.get(`/api/profile?username=${name}`)).json();
    expect(profile.storage).toBeNull();
    await admin.context().close();
  });

  test('without JavaScript the statistics page shows totals, charts with tables, and ranges as links', async ({ browser }) => {
    const page = await adminPage(browser, false);
    const totals: Totals = await (await page.request.get('/api/stats')).json();
    await page.goto('/stats');
    const figures = page.locator('.totals');
    // Other tests add people and pictures meanwhile: the figures are at least these.
    const figure = async (label: string) =>
      Number((await figures.locator('div', { hasText: label }).locator('dd').innerText()).replace(/,/g, ''));
    expect(await figure('Users')).toBeGreaterThanOrEqual(totals.users);
    expect(await figure('Images')).toBeGreaterThanOrEqual(totals.images);
    for (const title of ['Uploads per day', 'Active users per day', 'Feature use per day', 'Images and videos', 'Top tags', 'Top models']) {
      await expect(page.getByRole('heading', { name: title })).toBeVisible();
    }
    // Each daily chart says in words what it shows, and has its numbers as a table.
    const uploads = page.locator('#uploads');
    await expect(uploads.locator('.summary')).toHaveText(/uploads in 30 days|No uploads in these 30 days/);
    await expect(uploads.locator('svg[role="img"]')).toHaveAttribute('aria-labelledby', 'uploads-title uploads-summary');
    await uploads.getByText('Show as a table').click();
    await expect(uploads.locator('tbody tr')).toHaveCount(30);
    await expect(page.locator('#types tbody th')).toHaveText(['Images', 'Videos']);
    // The demo's most common tag leads, and links to its page.
    const topTag = page.locator('#top-tags tbody tr').first().getByRole('link');
    await expect(topTag).toHaveAttribute('href', /^\/t\//);
    // A range is a link.
    await page.getByRole('link', { name: '7 days' }).click();
    await expect(page).toHaveURL('/stats?range=7d');
    await expect(page.getByRole('link', { name: '7 days' })).toHaveAttribute('aria-current', 'page');
    await expect(page.locator('#uploads tbody tr')).toHaveCount(7);
    await page.context().close();
  });

  test('hydrated, a range changes the charts in place', async ({ browser }) => {
    const page = await adminPage(browser);
    const problems = watch(page);
    await page.goto('/stats');
    await hydrated(page);
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await page.getByRole('link', { name: '1 year' }).click();
    await expect(page).toHaveURL('/stats?range=1y');
    await expect(page.locator('#active tbody tr')).toHaveCount(365);
    await expect(page.locator('#active .summary')).toContainText('365 days');
    // No page load happened: the marker set before the click is still there.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    await page.goBack();
    await expect(page.locator('#active tbody tr')).toHaveCount(30);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  test('the usage tables sort by any column and download as CSV', async ({ browser }) => {
    const page = await adminPage(browser, false);
    await page.goto('/admin/usage?range=7d');
    await expect(page.getByRole('heading', { name: 'By feature' })).toBeVisible();
    await expect(page.locator('table.usage').first().locator('tbody tr')).toHaveCount(FEATURES.length);
    // The admin logged in, so she is among the people.
    const people = page.locator('table.usage.wide tbody tr');
    await expect(people.filter({ hasText: ADMIN })).toHaveCount(1);
    await page.getByRole('link', { name: 'Person' }).click();
    await expect(page).toHaveURL(/sort=username&dir=asc/);
    await expect(page.getByRole('columnheader', { name: /Person/ })).toHaveAttribute('aria-sort', 'ascending');
    const names = await people.locator('th').allInnerTexts();
    const lower = names.map((n) => n.toLowerCase());
    expect(lower).toEqual([...lower].sort());
    await page.getByRole('link', { name: 'Person ↑' }).click();
    await expect(page.getByRole('columnheader', { name: /Person/ })).toHaveAttribute('aria-sort', 'descending');

    const csv = await page.request.get('/admin/usage.csv?range=7d&table=users');
    expect(csv.headers()['content-type']).toBe('text/csv; charset=utf-8');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe(`username,${FEATURES.join(',')},events,active_days,assets,views_received,storage_bytes`);
    expect(lines.some((l) => l.startsWith(`${ADMIN},`))).toBeTruthy();
    await page.context().close();
  });

  test('statistics are for admins only', async ({ page }) => {
    await page.goto('/stats');
    await expect(page.getByRole('alert')).toHaveText('log in to do this');
    await register(page, uniqueName('nosy'));
    await expect(page).toHaveURL('/');
    await page.goto('/admin/usage');
    await expect(page.getByRole('alert')).toHaveText("only an admin can see this instance's usage statistics");
    expect((await page.request.get('/api/stats')).status()).toBe(403);
    expect((await page.request.get('/admin/usage.csv')).status()).toBe(403);
  });
});

test.describe('deleting an asset', () => {
  for (const javaScriptEnabled of [false, true]) {
    test(`its owner deletes it from its page (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async ({ browser }) => {
      const context = await browser.newContext({ javaScriptEnabled });
      const page = await context.newPage();
      const name = uniqueName('tidy');
      await register(page, name);
      await expect(page).toHaveURL('/');
      const id = await scriptUpload(page, 'Soon gone', png(javaScriptEnabled ? 7 : 11));
      await page.goto(`/a/${id}`);
      if (javaScriptEnabled) await hydrated(page);
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      // Into the trash first; from there, for good.
      await expect(page).toHaveURL('/trash');
      await page.getByRole('button', { name: 'Delete Soon gone permanently' }).click();
      await expect(page.getByText('Your trash is empty.')).toBeVisible();
      await page.goto(`/u/${name}`);
      await expect(page.locator('.asset-count')).toHaveText('0 assets');
      expect((await page.request.get(`/api/asset?id=${id}`)).status()).toBe(404);
      expect((await page.request.get(`/media/${id}/original`)).status()).toBe(404);
      await context.close();
    });
  }

  test('nobody else sees the delete button', async ({ browser }) => {
    const owner = await browser.newContext({ javaScriptEnabled: false });
    const page = await owner.newPage();
    await register(page, uniqueName('keeper'));
    await expect(page).toHaveURL('/');
    const id = await plainUpload(page, 'Mine to keep', 'keep.png', png(23));
    await owner.close();
    const visitor = await browser.newPage();
    await visitor.goto(`/a/${id}`);
    await expect(visitor.getByRole('heading', { level: 1 })).toHaveText('Mine to keep');
    await expect(visitor.getByRole('button', { name: 'Delete', exact: true })).toHaveCount(0);
    const refused = await visitor.request.post('/api/assets/trash', { form: { id: id! } });
    expect(refused.status()).toBe(401);
    await visitor.close();
  });
});
