import { test, expect, type Browser, type Page } from '@playwright/test';

import { ADMIN, hydrated, logIn, publishPlain, uniqueName, watch } from './helpers';

/** A page logged in as the instance's admin, in a context of its own. */
async function adminPage(browser: Browser, baseURL: string, javaScriptEnabled: boolean): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled, baseURL });
  const page = await context.newPage();
  await logIn(page, ADMIN);
  return page;
}

/** The shelf's asset titles on `/`. */
function shelfTitles(page: Page) {
  return page.locator('.featured-shelf ul.shelf:not(.collections) .card-title');
}

// Each story uploads its pictures first: longer than most.
test.describe.configure({ timeout: 60_000 });

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? 'with JavaScript' : 'without JavaScript', () => {
    test('an admin features a picture: it is on the shelf and first by "Featured", until taken back', async ({
      browser,
      baseURL,
    }) => {
      const artist = uniqueName(javaScriptEnabled ? 'feat-js' : 'feat-plain');
      const title = `Lantern ${artist}`;
      const [path] = await publishPlain(browser, baseURL!, artist, [{ title, tags: 'lantern', visibility: 'public' }]);
      const admin = await adminPage(browser, baseURL!, javaScriptEnabled);
      const problems = javaScriptEnabled ? watch(admin) : [];

      await admin.goto(path);
      if (javaScriptEnabled) await hydrated(admin);
      const button = admin.getByRole('button', { name: 'Feature this asset on the gallery' });
      await expect(button).toHaveAttribute('aria-pressed', 'false');
      await expect(button).toHaveText('☆ Feature');
      await button.click();
      await expect(button).toHaveAttribute('aria-pressed', 'true');
      await expect(button).toHaveText('★ Featured');

      // The shelf on `/` shows it; "All featured" and the order "Featured" list it first
      // (or, with other stories featuring at the same moment, among the first).
      await admin.goto('/');
      await expect(shelfTitles(admin)).toContainText([title]);
      await admin.goto('/?sort=featured');
      await expect(admin.locator('ul.grid .card-title').filter({ hasText: title })).toHaveCount(1);
      await expect(admin.locator('select[name="sort"]')).toHaveValue('featured');
      // Not once the gallery is filtered.
      await admin.goto(`/?q=${encodeURIComponent(title)}`);
      await expect(admin.locator('.featured-shelf')).toHaveCount(0);

      // Everyone sees it is featured.
      const visitor = await browser.newContext({ javaScriptEnabled, baseURL });
      const look = await visitor.newPage();
      await look.goto(path);
      await expect(look.locator('.featured-badge')).toHaveText('★ Featured');
      await expect(look.getByRole('button', { name: 'Feature this asset on the gallery' })).toHaveCount(0);

      // Taken back, it leaves.
      await admin.goto(path);
      if (javaScriptEnabled) await hydrated(admin);
      await admin.getByRole('button', { name: 'Feature this asset on the gallery' }).click();
      await expect(admin.getByRole('button', { name: 'Feature this asset on the gallery' })).toHaveAttribute(
        'aria-pressed',
        'false',
      );
      await look.goto('/?sort=featured');
      await expect(look.locator('ul.grid .card-title').filter({ hasText: title })).toHaveCount(0);
      await visitor.close();
      expect(problems).toEqual([]);
      await admin.context().close();
    });
  });
}
