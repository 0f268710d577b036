import { test, expect, type Page } from '@playwright/test';

import { a1111Png, hydrated, register as registerForm, uniqueName, watch as watchPage } from './helpers';

/** Console problems; the refusals these stories provoke (and 401s) are expected. */
const watch = (page: Page) => watchPage(page, '40[0139]|41[35]|422');

/** Registers and waits to land on the gallery. */
async function register(page: Page, username: string) {
  await registerForm(page, username);
  await expect(page).toHaveURL('/');
}

test.describe('with JavaScript', () => {
  test('a Forge PNG uploads with progress, its prompt is filled in, and it appears with a thumbnail', async ({ page }) => {
    const problems = watch(page);
    await register(page, uniqueName('up'));
    await page.goto('/upload');
    await hydrated(page);
    await expect(page.getByText('or drop images and videos here')).toBeVisible();

    await page.locator('#upload-files').setInputFiles({
      name: 'lighthouse_00017_.png',
      mimeType: 'image/png',
      buffer: a1111Png(96, 64),
    });
    const card = page.locator('.upload-card');
    await expect(card).toHaveCount(1);
    await expect(card.locator('.upload-state')).toHaveText('Uploaded. Check the details, then publish.');
    await expect(card.locator('.upload-bytes')).toContainText('100%');
    await expect(card.locator('progress')).toHaveJSProperty('value', await card.locator('progress').evaluate((p: HTMLProgressElement) => p.max));
    // What the file says is already in the form.
    await expect(card.getByLabel('Prompt', { exact: true })).toHaveValue('a lighthouse on a cliff at dawn, volumetric light');
    await expect(card.getByLabel('Negative prompt')).toHaveValue('blurry, lowres');
    await expect(card.getByLabel('Model')).toHaveValue('forge_test_model');

    await card.getByLabel('Title').fill('Lighthouse at dawn');
    await card.getByLabel('Tags').fill('lighthouse, dawn');
    await card.getByRole('button', { name: 'Publish' }).click();
    await expect(card.locator('.upload-state')).toHaveText('Published');
    await card.getByRole('link', { name: 'View it' }).click();

    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Lighthouse at dawn');
    await expect(page.locator('.prompt').first()).toHaveText('a lighthouse on a cliff at dawn, volumetric light');
    await expect(page.locator('.prompt.negative')).toHaveText('blurry, lowres');
    await expect(page.locator('.parameters')).toContainText('424242');
    await expect(page.locator('.parameters')).toContainText('A1111 / Forge');
    await expect(page.locator('.tags li')).toHaveText(['dawn', 'lighthouse']);

    // In the gallery, with its thumbnail (made by the server's worker).
    const assetUrl = new URL(page.url()).pathname;
    await expect(async () => {
      await page.goto('/');
      const thumb = page.locator(`.card:has(a[href="${assetUrl}"]) img`);
      await expect(thumb).toHaveAttribute('src', /\/thumb\?v=/);
      expect(await thumb.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0)).toBeTruthy();
    }).toPass({ timeout: 15_000 });
    expect(problems).toEqual([]);
  });

  test('over a flaky connection the upload waits, retries and carries on', async ({ page }) => {
    await register(page, uniqueName('flaky'));
    await page.goto('/upload');
    await hydrated(page);
    // The first two chunk requests die on the way, as on a train going through tunnels.
    let dropped = 0;
    await page.route('**/api/upload/chunk', async (route) => {
      if (dropped < 2) {
        dropped += 1;
        await route.abort('connectionreset');
      } else {
        await route.continue();
      }
    });
    await page.locator('#upload-files').setInputFiles({
      name: 'tunnel.png',
      mimeType: 'image/png',
      buffer: a1111Png(80, 60),
    });
    const card = page.locator('.upload-card');
    await expect(card.locator('.upload-state')).toContainText('Connection lost; trying again');
    await expect(card.locator('.upload-state')).toHaveText('Uploaded. Check the details, then publish.', {
      timeout: 15_000,
    });
    expect(dropped).toBe(2);
    await expect(card.getByLabel('Prompt', { exact: true })).toHaveValue('a lighthouse on a cliff at dawn, volumetric light');
    await card.getByRole('button', { name: 'Publish' }).click();
    await expect(card.locator('.upload-state')).toHaveText('Published');
  });

  test('a phone video gets a poster frame drawn by the browser', async ({ page, request }) => {
    const problems = watch(page);
    // A real H.264 MP4: one of the demo videos, as a phone might have made it.
    let cursor: string | undefined;
    let video: { id: string } | undefined;
    while (!video) {
      const res = await request.get(cursor ? `/api/assets?cursor=${cursor}` : '/api/assets');
      const body = await res.json();
      video = body.items.find((i: { media_type: string }) => i.media_type === 'video');
      if (!body.next_cursor) break;
      cursor = body.next_cursor;
    }
    expect(video, 'the demo data has videos').toBeDefined();
    const detail = await (await request.get(`/api/asset?id=${video!.id}`)).json();
    const mp4 = Buffer.from(await (await request.get(detail.media_url)).body());

    await register(page, uniqueName('vid'));
    await page.goto('/upload');
    await hydrated(page);
    await page.locator('#upload-files').setInputFiles({ name: 'PXL_20261122.mp4', mimeType: 'video/mp4', buffer: mp4 });
    const card = page.locator('.upload-card');
    await expect(card.locator('.upload-state')).toHaveText('Uploaded. Check the details, then publish.');
    await card.getByLabel('Title').fill('Harbour at dusk');
    await card.getByRole('button', { name: 'Publish' }).click();
    await card.getByRole('link', { name: 'View it' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Harbour at dusk');
    const id = new URL(page.url()).pathname.split('/').pop();
    // The still comes from the frame the browser sent (the server here has no ffmpeg).
    await expect(async () => {
      const asset = await (await request.get(`/api/asset?id=${id}`)).json();
      expect(asset.job.state).toBe('done');
      expect(asset.thumb_url).toMatch(/\/thumb\?v=/);
      const still = await request.get(asset.thumb_url);
      expect(still.headers()['content-type']).toBe('image/jpeg');
    }).toPass({ timeout: 15_000 });
    expect(problems).toEqual([]);
  });

  test('an HTML page named .png is refused on its card, and nothing is published', async ({ page }) => {
    watch(page);
    await register(page, uniqueName('bad'));
    await page.goto('/upload');
    await hydrated(page);
    await page.locator('#upload-files').setInputFiles({
      name: 'cat.png',
      mimeType: 'image/png',
      buffer: Buffer.from('<!doctype html><script>alert(1)</script>'),
    });
    const card = page.locator('.upload-card');
    await expect(card).toHaveAttribute('data-phase', 'failed');
    await expect(card.locator('.upload-state')).toContainText('not a PNG, JPEG');
    await expect(card.getByRole('button', { name: 'Publish' })).toBeDisabled();
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the plain form uploads one file and shows it', async ({ page }) => {
    await register(page, uniqueName('plain'));
    await page.goto('/upload');
    await page.getByLabel('Title').fill('Plain form lighthouse');
    await page.locator('#plain-file').setInputFiles({
      name: 'plain.png',
      mimeType: 'image/png',
      buffer: a1111Png(64, 48),
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    await expect(page).toHaveURL(/\/a\/[A-Za-z0-9]{12}$/);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Plain form lighthouse');
    // The prompt was left empty, so the file's is used.
    await expect(page.locator('.prompt').first()).toHaveText('a lighthouse on a cliff at dawn, volumetric light');
  });

  test('visitors are sent to log in first', async ({ page }) => {
    await page.goto('/upload');
    await expect(page).toHaveURL('/login?next=/upload');
  });
});
