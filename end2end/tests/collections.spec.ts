import { test, expect, type Browser, type Page } from '@playwright/test';

import { hydrated, publishPlain, register, uniqueName, watch } from './helpers';

/** The titles of the collection's cards, in order. */
function titles(page: Page) {
  return page.locator('ul.grid .card-title');
}

/** Registers `name` in a browser context of its own (so it exists to be invited). */
async function someone(browser: Browser, baseURL: string, name: string) {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await register(page, name);
  await expect(page).toHaveURL('/');
  await context.close();
}

/** Makes a collection from the profile's "Collections" tab; lands on its page. */
async function newCollection(page: Page, owner: string, title: string, visibility: string) {
  await page.goto(`/u/${owner}/collections`);
  await page.locator('.new-collection > summary').click();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Who sees it').selectOption(visibility);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(/\/c\/[A-Za-z0-9]{12}$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(title);
}

/** Adds the asset at `path` to the collection titled `title` from the asset's page. */
async function addFromAssetPage(page: Page, path: string, title: string) {
  await page.goto(path);
  const form = page.locator('form.add-to-collection');
  await form.getByLabel('Add to').selectOption({ label: title });
  await form.getByRole('button', { name: 'Add' }).click();
  await expect(page.locator('.collection-links')).toContainText(title);
}

// Each story uploads its pictures first: longer than most.
test.describe.configure({ timeout: 90_000 });

test.describe('with JavaScript', () => {
  test('an owner makes a private collection, fills it from asset pages, drags it into order and invites an editor', async ({
    page,
    browser,
    baseURL,
  }) => {
    const owner = uniqueName('coll-js');
    const paths = await publishPlain(browser, baseURL!, owner, [
      { title: 'Mesa one', visibility: 'private' },
      { title: 'Mesa two', visibility: 'private' },
      { title: 'Mesa three', visibility: 'private' },
    ]);
    const editor = uniqueName('coll-ed');
    await someone(browser, baseURL!, editor);
    await page.goto('/login');
    await page.getByLabel('Username').fill(owner);
    await page.getByLabel('Password').fill('violet tractor sings');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page).toHaveURL('/');
    const problems = watch(page);

    await newCollection(page, owner, 'Mesas at dusk', 'private');
    const collection = page.url();
    for (const path of paths) {
      await addFromAssetPage(page, path, 'Mesas at dusk');
    }

    // In the order added; dragging "Mesa three" onto "Mesa one" puts it first.
    await page.goto(collection);
    await hydrated(page);
    await expect(titles(page)).toHaveText(['Mesa one', 'Mesa two', 'Mesa three']);
    const card = (title: string) => page.locator('ul.grid > li', { hasText: title });
    // The grid shows the new order at once; the move is saved behind it, so the
    // reload waits for the server's answer (a reload at once would cancel it).
    const saved = page.waitForResponse((r) => r.url().includes('/api/collections/items/move'));
    await card('Mesa three').dragTo(card('Mesa one'));
    await expect(titles(page)).toHaveText(['Mesa three', 'Mesa one', 'Mesa two']);
    expect((await saved).ok()).toBe(true);
    await page.reload();
    await hydrated(page);
    await expect(titles(page)).toHaveText(['Mesa three', 'Mesa one', 'Mesa two']);
    // The arrows move one place.
    await page.getByRole('button', { name: 'Move “Mesa two” earlier' }).click();
    await expect(titles(page)).toHaveText(['Mesa three', 'Mesa two', 'Mesa one']);

    // An editor is invited; the member list says so.
    // With nobody in it yet, the members' part is open.
    const members = page.locator('.collection-members');
    await expect(members).toHaveAttribute('open', '');
    await members.getByLabel('Invite').fill(editor);
    await members.getByLabel('as').selectOption('editor');
    await members.getByRole('button', { name: 'Invite' }).click();
    await expect(members.locator('ul.members li')).toContainText([`${editor} · Editor`]);

    // Take one out; the picture stays, and its page no longer lists the collection.
    await page.getByRole('button', { name: 'Take “Mesa one” out of the collection' }).click();
    await expect(titles(page)).toHaveText(['Mesa three', 'Mesa two']);
    await page.goto(paths[0]);
    await expect(page.locator('.in-collections')).toContainText('In no collection you can see.');
    expect(problems).toEqual([]);

    // A stranger cannot tell it exists.
    const stranger = await browser.newContext({ baseURL });
    const look = await stranger.newPage();
    const answer = await look.goto(collection);
    expect(answer?.status()).toBe(404);
    await stranger.close();
  });
});

test.describe('with JavaScript, from the grid', () => {
  test('an owner fills collections from the bulk bar and from the lightbox, and empties them again', async ({ page, browser, baseURL }) => {
    const owner = uniqueName('coll-bulk');
    const paths = await publishPlain(browser, baseURL!, owner, [
      { title: 'Cove one', visibility: 'private' },
      { title: 'Cove two', visibility: 'private' },
      { title: 'Cove three', visibility: 'private' },
    ]);
    await page.goto('/login');
    await page.getByLabel('Username').fill(owner);
    await page.getByLabel('Password').fill('violet tractor sings');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page).toHaveURL('/');
    await newCollection(page, owner, 'Coves', 'private');
    const coves = page.url();
    await newCollection(page, owner, 'Best coves', 'private');
    const best = page.url();
    const problems = watch(page);

    // Two selected on the profile, into "Coves" in one go.
    await page.goto(`/u/${owner}`);
    await hydrated(page);
    const bar = page.locator('form.bulk-bar');
    await page.getByRole('checkbox', { name: 'Select “Cove one”' }).click();
    await page.getByRole('checkbox', { name: 'Select “Cove three”' }).click();
    await bar.getByLabel('Collection').selectOption({ label: 'Coves' });
    await bar.getByRole('button', { name: 'Add to collection' }).click();
    await expect(bar.getByRole('status')).toHaveText('Added 2 assets to “Coves”.');

    // One from the lightbox into "Best coves".
    await page.locator('article.card', { hasText: 'Cove two' }).locator('a.thumb').click();
    const lightbox = page.getByRole('dialog', { name: 'Larger view' });
    await lightbox.getByLabel('Collection').selectOption({ label: 'Best coves' });
    await lightbox.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(lightbox.getByRole('status')).toHaveText('Added to “Best coves”.');
    await page.keyboard.press('Escape');

    // In the order the bar named them: the grid's, newest first.
    await page.goto(coves);
    await expect(titles(page)).toHaveText(['Cove three', 'Cove one']);
    await page.goto(best);
    await expect(titles(page)).toHaveText(['Cove two']);

    // Taken out again from the bar; the pictures stay.
    await page.goto(`/u/${owner}`);
    await hydrated(page);
    await page.getByRole('checkbox', { name: 'Select “Cove one”' }).click();
    await bar.getByLabel('Collection').selectOption({ label: 'Coves' });
    await bar.getByRole('button', { name: 'Take out of collection' }).click();
    await expect(bar.getByRole('status')).toHaveText('Took 1 asset out of “Coves”.');
    await page.goto(coves);
    await expect(titles(page)).toHaveText(['Cove three']);
    // And out of "Best coves" from the lightbox.
    await page.goto(`/u/${owner}`);
    await hydrated(page);
    await page.locator('article.card', { hasText: 'Cove two' }).locator('a.thumb').click();
    await lightbox.getByLabel('Collection').selectOption({ label: 'Best coves' });
    await lightbox.getByRole('button', { name: 'Take out' }).click();
    await expect(lightbox.getByRole('status')).toHaveText('Taken out of “Best coves”.');
    await page.goto(best);
    await expect(page.locator('.empty')).toContainText('Nothing in this collection yet.');
    await page.goto(paths[0]);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Cove one');
    expect(problems).toEqual([]);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the arrows, taking out and editing are plain forms that come back', async ({ page, browser, baseURL }) => {
    const owner = uniqueName('coll-nojs');
    const paths = await publishPlain(browser, baseURL!, owner, [
      { title: 'Butte one', visibility: 'private' },
      { title: 'Butte two', visibility: 'private' },
    ]);
    await page.goto('/login');
    await page.getByLabel('Username').fill(owner);
    await page.getByLabel('Password').fill('violet tractor sings');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page).toHaveURL('/');

    await newCollection(page, owner, 'Buttes', 'unlisted');
    const collection = new URL(page.url()).pathname;
    for (const path of paths) {
      await addFromAssetPage(page, path, 'Buttes');
    }
    await page.goto(collection);
    await expect(titles(page)).toHaveText(['Butte one', 'Butte two']);
    await page.getByRole('button', { name: 'Move “Butte two” earlier' }).click();
    await expect(page).toHaveURL(collection);
    await expect(titles(page)).toHaveText(['Butte two', 'Butte one']);

    await page.locator('.collection-edit > summary').click();
    await page.locator('.collection-edit').getByLabel('Title').fill('Buttes at noon');
    await page.locator('.collection-edit').getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toContainText('Buttes at noon');

    await page.getByRole('button', { name: 'Take “Butte one” out of the collection' }).click();
    await expect(page).toHaveURL(collection);
    await expect(titles(page)).toHaveText(['Butte two']);
    // Its owner's profile lists it on the "Collections" tab.
    await page.goto(`/u/${owner}/collections`);
    await expect(page.locator('.collection-card .card-title')).toHaveText(['Buttes at noon']);
  });
});
