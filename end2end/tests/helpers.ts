import { expect, type Browser, type Page } from '@playwright/test';
import { crc32, deflateSync } from 'node:zlib';

export const PASSWORD = 'violet tractor sings';

/** The admin scripts/e2e-server.sh creates on each instance. */
export const ADMIN = 'curator';

/** A username no other test (or earlier run against the same server) has used. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.slice(0, 32);
}

/** Collects console errors and warnings, uncaught exceptions and alert()s. Chromium logs
 * every 4xx answer as "Failed to load resource"; the statuses a story provokes on purpose
 * (`expected`, a regex alternative such as `40[0139]`) are not problems. */
export function watch(page: Page, expected = '40[0139]'): string[] {
  const problems: string[] = [];
  const provoked = new RegExp(`Failed to load resource: the server responded with a status of (${expected})`);
  page.on('console', (m) => {
    if ((m.type() === 'error' || m.type() === 'warning') && !provoked.test(m.text())) {
      problems.push(`${m.type()}: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  return problems;
}

/** Waits until the WASM has taken over the page. */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated]')).toHaveCount(1);
}

/** Fills and sends the registration form (the caller checks where it lands). */
export async function register(page: Page, username: string, password = PASSWORD) {
  await page.goto('/register');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Repeat the password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
}

/** Logs in through the form and waits to land on the gallery. */
export async function logIn(page: Page, username: string, password = PASSWORD) {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL('/');
}

/** One PNG chunk: length, type, data and CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/** The `parameters` text A1111/Forge writes into its PNGs. */
export const A1111 =
  'a lighthouse on a cliff at dawn, volumetric light\n' +
  'Negative prompt: blurry, lowres\n' +
  'Steps: 30, Sampler: Euler a, CFG scale: 6.5, Seed: 424242, Size: 96x64, Model: forge_test_model';

/** A real width × height RGB PNG carrying `parameters` as A1111 writes it. */
export function a1111Png(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = (x * 5) & 255;
      row[2 + x * 3] = (y * 7) & 255;
      row[3 + x * 3] = 160;
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('tEXt', Buffer.from(`parameters\0${A1111}`, 'latin1')),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Registers `username` and publishes `pictures` through the plain upload form, in a context
 * of its own without JavaScript; answers each asset page's path, in order. */
export async function publishPlain(
  browser: Browser,
  baseURL: string,
  username: string,
  pictures: { title: string; tags?: string; visibility?: 'public' | 'unlisted' | 'private' }[],
): Promise<string[]> {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  await register(page, username);
  await expect(page).toHaveURL('/');
  const paths = [];
  for (const [n, picture] of pictures.entries()) {
    await page.goto('/upload');
    await page.getByLabel('Title').fill(picture.title);
    await page.getByLabel('Tags').fill(picture.tags ?? '');
    await page.getByLabel('Visibility').selectOption(picture.visibility ?? 'public');
    await page.locator('#plain-file').setInputFiles({
      name: `picture-${n}.png`,
      mimeType: 'image/png',
      buffer: a1111Png(48 + n, 32),
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    await expect(page).toHaveURL(/\/a\/[A-Za-z0-9]{12}$/);
    const path = new URL(page.url()).pathname;
    paths.push(path);
    // Processed before the story goes on: a page rendered while its thumbnails were being
    // made could hydrate against a listing that has them.
    await expect
      .poll(async () => {
        const asset = await (await page.request.get(`/api/asset?id=${path.slice(3)}`)).json();
        return asset.job?.state ?? 'done';
      }, { timeout: 20_000 })
      .toMatch(/^(done|failed)$/);
  }
  await context.close();
  return paths;
}
