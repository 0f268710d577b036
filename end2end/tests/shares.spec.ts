import { test, expect, type Page } from '@playwright/test';

import { hydrated, publishPlain, uniqueName, watch, PASSWORD } from './helpers';

async function logInAs(page: Page, name: string) {
  await page.goto('/login');
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL('/');
}

/** Makes a private collection holding the pictures at `paths`; its page's path. */
async function privateCollection(page: Page, owner: string, title: string, paths: string[]) {
  await page.goto(`/u/${owner}/collections`);
  await page.locator('.new-collection > summary').click();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Who sees it').selectOption('private');
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(/\/c\/[A-Za-z0-9]{12}$/);
  const collection = new URL(page.url()).pathname;
  for (const path of paths) {
    await page.goto(path);
    const form = page.locator('form.add-to-collection');
    await form.getByLabel('Add to').selectOption({ label: title });
    await form.getByRole('button', { name: 'Add' }).click();
    await expect(page.locator('.collection-links')).toContainText(title);
  }
  return collection;
}

test.describe.configure({ timeout: 90_000 });

test.describe('with JavaScript', () => {
  test('an owner shares a private collection by a link a visitor opens, then revokes it', async ({
    page,
    browser,
    baseURL,
  }) => {
    const owner = uniqueName('share-js');
    const paths = await publishPlain(browser, baseURL!, owner, [
      { title: 'Arch one', visibility: 'private' },
      { title: 'Arch two', visibility: 'private' },
    ]);
    await logInAs(page, owner);
    const collection = await privateCollection(page, owner, 'Arches', paths);

    await page.goto(collection);
    await hydrated(page);
    await page.locator('.share-link > summary').click();
    await page.locator('.share-link').getByLabel('Lasts').selectOption('7');
    await page.getByRole('button', { name: 'Make a share link' }).click();
    const url = page.locator('.share-link input.share-url');
    await expect(url).toHaveValue(new RegExp(`^${baseURL}/s/[A-Za-z0-9_-]{43}$`));
    const link = await url.inputValue();

    // A visitor without an account opens it: the collection, its pictures and their pages.
    const visitor = await browser.newContext({ baseURL });
    const look = await visitor.newPage();
    const problems = watch(look);
    await look.goto(link);
    await expect(look).toHaveURL(new RegExp(`${collection}\\?s=`));
    await hydrated(look);
    await expect(look.locator('ul.grid .card-title')).toHaveText(['Arch one', 'Arch two']);
    await expect(look.locator('ul.grid .card img').first()).toHaveJSProperty('complete', true);
    await look.locator('.card-title a', { hasText: 'Arch two' }).click();
    await expect(look.getByRole('heading', { level: 1 })).toHaveText('Arch two');
    expect(problems).toEqual([]);

    // Revoked on the account page, the link opens nothing any more.
    await page.goto('/account');
    await page.getByRole('button', { name: 'Revoke the link to “Arches”' }).click();
    await expect(page.locator('table.share-links tbody tr').first()).toContainText('closed');
    const again = await look.goto(link);
    expect(again?.status()).toBe(404);
    await expect(look.getByRole('alert')).toContainText('expired, was revoked, or never existed');
    await visitor.close();
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a share link made by a plain form is shown once, and opens the asset', async ({ page, browser, baseURL }) => {
    const owner = uniqueName('share-nojs');
    const [path] = await publishPlain(browser, baseURL!, owner, [{ title: 'Hoodoo', visibility: 'unlisted' }]);
    await logInAs(page, owner);
    await page.goto(path);
    await page.locator('.share-link > summary').click();
    await page.getByRole('button', { name: 'Make a share link' }).click();
    await expect(page).toHaveURL(/shared=/);
    const url = page.locator('.share-link input.share-url');
    const shown = await url.inputValue();
    expect(shown).toMatch(/^\/s\/[A-Za-z0-9_-]{43}$/);

    const visitor = await browser.newContext({ baseURL, javaScriptEnabled: false });
    const look = await visitor.newPage();
    await look.goto(shown);
    await expect(look).toHaveURL(new RegExp(`${path}\\?s=`));
    await expect(look.getByRole('heading', { level: 1 })).toHaveText('Hoodoo');
    await visitor.close();
  });
});
