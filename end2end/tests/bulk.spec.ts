import { test, expect, type Page } from '@playwright/test';

import { ADMIN, hydrated, logIn, publishPlain, uniqueName, watch } from './helpers';

/** The tags and visibility of the asset at `path`, as the API tells its owner. */
async function stateOf(page: Page, path: string): Promise<{ tags: string[]; visibility: string }> {
  const asset = await (await page.request.get(`/api/asset?id=${path.slice(3)}`)).json();
  return { tags: asset.tags, visibility: asset.visibility };
}

/** The checkbox of the card titled `title`. */
function pick(page: Page, title: string) {
  return page.getByRole('checkbox', { name: `Select “${title}”` });
}

// Each story uploads its pictures first: longer than most.
test.describe.configure({ timeout: 60_000 });

// Pictures stay private (out of the gallery, which other stories read) until a story changes them.
test.describe('with JavaScript', () => {
  test('an owner selects a range, tags it, trashes one with the keyboard and hides the rest', async ({
    page,
    browser,
    baseURL,
  }) => {
    const name = uniqueName('bulk-js');
    const paths = await publishPlain(browser, baseURL!, name, [
      { title: 'Dune one', visibility: 'private' },
      { title: 'Dune two', visibility: 'private' },
      { title: 'Dune three', visibility: 'private' },
      { title: 'Dune four', visibility: 'private' },
    ]);
    await logIn(page, name);
    await page.goto(`/u/${name}`);
    // Watched from here: the gallery shown after logging in may hold pictures other stories
    // are trashing at the same moment, whose thumbnails are gone by the time they load.
    const problems = watch(page);
    await hydrated(page);
    const bar = page.locator('form.bulk-bar');
    const cards = page.locator('ul.grid > li');
    await expect(cards).toHaveCount(4);

    // Newest first: a click on "Dune four", a shift-click on "Dune two" takes the three between.
    await pick(page, 'Dune four').click();
    await pick(page, 'Dune two').click({ modifiers: ['Shift'] });
    await expect(bar.locator('.bulk-count strong')).toHaveText('3 selected');
    await expect(pick(page, 'Dune three')).toBeChecked();
    await expect(pick(page, 'Dune one')).not.toBeChecked();
    await bar.getByPlaceholder('tags, comma-separated').fill('desert, Dusk');
    await bar.getByRole('button', { name: 'Add tags' }).click();
    await expect(bar.getByRole('status')).toHaveText('Added #desert #dusk to 3 assets.');
    await expect(bar.locator('.bulk-count strong')).toHaveText('None selected');
    expect((await stateOf(page, paths[1])).tags).toEqual(['desert', 'dusk']);
    expect((await stateOf(page, paths[0])).tags).toEqual([]);

    // The keyboard: x on the card in focus selects it, Delete moves the selection to the trash.
    await page.locator('li', { has: pick(page, 'Dune one') }).locator('a.thumb').focus();
    await page.keyboard.press('x');
    await expect(pick(page, 'Dune one')).toBeChecked();
    await expect(bar.locator('.bulk-count strong')).toHaveText('1 selected');
    await page.keyboard.press('Delete');
    await expect(bar.getByRole('status')).toHaveText('Moved 1 asset to the trash.');
    await expect(cards).toHaveCount(3);
    await expect(pick(page, 'Dune one')).toHaveCount(0);

    // All that are left, unlisted: each card shows it at once.
    await bar.getByRole('button', { name: 'Select all' }).click();
    await expect(bar.locator('.bulk-count strong')).toHaveText('3 selected');
    await bar.getByLabel('New visibility').selectOption('unlisted');
    await bar.getByRole('button', { name: 'Set visibility' }).click();
    await expect(bar.getByRole('status')).toHaveText('Made 3 assets unlisted.');
    await expect(page.locator('ul.grid .badge.private')).toHaveText(['Unlisted', 'Unlisted', 'Unlisted']);
    for (const path of paths.slice(1)) {
      expect((await stateOf(page, path)).visibility).toBe('unlisted');
    }

    // A bad request says why, and the selection stays.
    await pick(page, 'Dune two').click();
    await bar.getByPlaceholder('tags, comma-separated').fill('');
    await bar.getByRole('button', { name: 'Remove tags' }).click();
    await expect(bar.getByRole('alert')).toContainText('name the tags to remove');
    await expect(pick(page, 'Dune two')).toBeChecked();
    expect(problems.filter((p) => !p.includes('status of 400'))).toEqual([]);
  });
});

test.describe('an admin on the gallery', () => {
  test('trashes someone else\'s pictures found by a search, with the keyboard', async ({ page, browser, baseURL }) => {
    const name = uniqueName('bulk-owner');
    // A word of its own, so that the search shows only this story's pictures.
    const word = `lagoon${name.replace(/[^a-z0-9]/g, '')}`;
    await publishPlain(browser, baseURL!, name, [
      { title: `Spam ${word} one`, visibility: 'public' },
      { title: `Spam ${word} two`, visibility: 'public' },
    ]);
    const problems = watch(page);
    await logIn(page, ADMIN);
    await page.goto(`/?q=${word}`);
    await hydrated(page);
    await expect(page.locator('ul.grid > li')).toHaveCount(2);
    const bar = page.locator('form.bulk-bar');
    await bar.getByRole('button', { name: 'Select all' }).click();
    await expect(bar.locator('.bulk-count strong')).toHaveText('2 selected');
    // Delete with the focus on the page, not in a field.
    await page.locator('ul.grid a.thumb').first().focus();
    await page.keyboard.press('Delete');
    await expect(bar.getByRole('status')).toHaveText('Moved 2 assets to the trash.');
    await expect(page.locator('ul.grid > li')).toHaveCount(0);
    // They are in their owner's trash, not the admin's.
    const mine = await (await page.request.get('/api/trash')).json();
    expect(mine.items).toEqual([]);
    const found = await (await page.request.get(`/api/assets?q=${word}`)).json();
    expect(found.items).toEqual([]);
    expect(problems).toEqual([]);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the checkboxes and the bar are a form that comes back to the profile', async ({ page, browser, baseURL }) => {
    const name = uniqueName('bulk-plain');
    const paths = await publishPlain(browser, baseURL!, name, [
      { title: 'Mesa one', visibility: 'private' },
      { title: 'Mesa two', visibility: 'private' },
      { title: 'Mesa three', visibility: 'private' },
    ]);
    await logIn(page, name);
    await page.goto(`/u/${name}`);
    const bar = page.locator('form.bulk-bar');

    await pick(page, 'Mesa one').check();
    await pick(page, 'Mesa three').check();
    await bar.getByPlaceholder('tags, comma-separated').fill('canyon');
    await bar.getByRole('button', { name: 'Add tags' }).click();
    await expect(page).toHaveURL(`/u/${name}`);
    expect((await stateOf(page, paths[0])).tags).toEqual(['canyon']);
    expect((await stateOf(page, paths[1])).tags).toEqual([]);
    expect((await stateOf(page, paths[2])).tags).toEqual(['canyon']);

    await pick(page, 'Mesa two').check();
    await bar.getByRole('button', { name: 'Move to trash' }).click();
    await expect(page).toHaveURL(`/u/${name}`);
    await expect(page.locator('.asset-count')).toHaveText('2 assets');
    await expect(pick(page, 'Mesa two')).toHaveCount(0);

    // Nothing selected: the page says so.
    await bar.getByRole('button', { name: 'Move to trash' }).click();
    await expect(page.getByRole('alert')).toContainText('select at least one asset');
    await expect(page.locator('.asset-count')).toHaveText('2 assets');
  });
});
