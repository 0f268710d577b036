import { test, expect } from '@playwright/test';
import { hydrated, watch } from './helpers';

// A phone on a slow network: what goes over the wire is compressed, and the page still
// hydrates from it.
test.describe('on a phone', () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

  test('the page, its WASM and the JSON it asks for arrive compressed, and the page hydrates', async ({ page }) => {
    const problems = watch(page);
    const encodings = new Map<string, string>();
    page.on('response', (res) => {
      const url = new URL(res.url());
      const kind = url.pathname.endsWith('.wasm') ? 'wasm' : url.pathname.startsWith('/api/') ? 'api' : url.pathname === '/' ? 'page' : null;
      if (kind && res.status() === 200) encodings.set(kind, res.headers()['content-encoding'] ?? 'none');
    });
    const home = await page.goto('/');
    expect(home!.headers()['content-encoding']).toBe('br');
    await hydrated(page);
    expect(encodings.get('page')).toBe('br');
    expect(encodings.get('wasm')).toBe('br');

    // The hydrated page fetches the next page of the grid itself: JSON, compressed too.
    const cards = page.locator('ul.grid .card');
    const before = await cards.count();
    await page.locator('.more').scrollIntoViewIfNeeded();
    await expect.poll(() => cards.count()).toBeGreaterThan(before);
    await expect.poll(() => encodings.get('api')).toBe('br');
    expect(problems).toEqual([]);
  });
});
