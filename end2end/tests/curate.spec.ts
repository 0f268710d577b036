import { test, expect, type Browser } from '@playwright/test';

import { hydrated, logIn, publishPlain, uniqueName, watch } from './helpers';

/** Registers `username` and publishes one picture, private (out of the gallery, which other
 * stories read); answers the asset page's path. */
async function publish(browser: Browser, baseURL: string, username: string): Promise<string> {
  const [path] = await publishPlain(browser, baseURL, username, [
    { title: 'Neon aley', tags: 'neon, city', visibility: 'private' },
  ]);
  return path;
}

test.describe('with JavaScript', () => {
  test('an owner fixes a title and a tag in place', async ({ page, browser, baseURL }) => {
    const name = uniqueName('editor');
    const path = await publish(browser, baseURL!, name);
    const problems = watch(page);
    await logIn(page, name);
    await page.goto(path);
    await hydrated(page);
    await page.getByText('Edit…').click();
    const form = page.locator('form.edit-form');
    await form.getByLabel('Title').fill('Neon alley');
    await form.getByLabel('Tags').fill('neon, night');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Neon alley');
    await expect(page.locator('ul.tags')).toContainText('night');
    await expect(page.locator('ul.tags')).not.toContainText('city');
    await expect(form).toBeHidden();
    expect(new URL(page.url()).pathname).toBe(path);
    // A bad field is named on the page, and nothing changes.
    await page.getByText('Edit…').click();
    await form.getByLabel('Title').fill(' ');
    await form.getByLabel('Title').evaluate((input: HTMLInputElement) => input.removeAttribute('required'));
    await form.getByRole('button', { name: 'Save changes' }).click();
    await expect(page.getByText('the title may not be empty')).toBeVisible();
    await page.reload();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Neon alley');
    expect(problems.filter((p) => !p.includes('status of 400'))).toEqual([]);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the edit form posts and comes back; a private picture stays out of sight', async ({ page, browser, baseURL }) => {
    const name = uniqueName('plain-editor');
    const path = await publish(browser, baseURL!, name);
    await logIn(page, name);
    await page.goto(path);
    await page.locator('details.edit-asset summary').click();
    const form = page.locator('form.edit-form');
    await expect(form.getByLabel('Visibility')).toHaveValue('private');
    await form.getByLabel('Title').fill('Neon alley');
    await form.getByLabel('Tags').fill('neon, night');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await expect(page).toHaveURL(path);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Neon alley');
    await expect(page.locator('ul.tags li')).toHaveText(['neon', 'night']);
    await expect(page.getByText('only you can see this')).toBeVisible();

    const visitor = await browser.newContext({ javaScriptEnabled: false, baseURL });
    const stranger = await visitor.newPage();
    const answer = await stranger.goto(path);
    expect(answer?.status()).toBe(404);
    await expect(stranger.getByText('Save changes')).toHaveCount(0);
    await visitor.close();
  });
});

// The story: a person reads the history of a prompt they rewrote, and restores it.
for (const javaScriptEnabled of [true, false]) {
  test.describe(`history, JavaScript ${javaScriptEnabled ? 'on' : 'off'}`, () => {
    test.use({ javaScriptEnabled });

    test('an owner reads the history of a prompt they rewrote and restores it', async ({ page, browser, baseURL }) => {
      const name = uniqueName(javaScriptEnabled ? 'historian-js' : 'historian');
      const path = await publish(browser, baseURL!, name);
      // Without JavaScript there is nothing to watch (and Chromium warns of the unused preload).
      const problems = javaScriptEnabled ? watch(page) : [];
      await logIn(page, name);
      await page.goto(path);
      if (javaScriptEnabled) await hydrated(page);
      const prompt = page.locator('p.prompt:not(.negative)');
      const original = 'a lighthouse on a cliff at dawn, volumetric light';
      await expect(prompt).toHaveText(original);
      await page.locator('details.edit-asset summary').click();
      const form = page.locator('form.edit-form');
      await form.getByLabel('Prompt', { exact: true }).fill('a lighthouse on a cliff at dusk, stormy sea');
      await form.getByRole('button', { name: 'Save changes' }).click();
      await expect(prompt).toHaveText('a lighthouse on a cliff at dusk, stormy sea');

      await page.locator('details.history summary').click();
      const edit = page.locator('li.revision');
      await expect(edit).toHaveCount(1);
      await expect(edit.locator('.diff del')).toHaveText('dawn, volumetric light');
      await expect(edit.locator('.diff ins')).toHaveText('dusk, stormy sea');
      await expect(edit).toContainText(`by ${name}`);
      await page.getByRole('button', { name: 'Restore the version before edit 1' }).click();
      await expect(prompt).toHaveText(original);
      if (!(await page.locator('details.history').getAttribute('open'))) {
        await page.locator('details.history summary').click();
      }
      await expect(page.locator('li.revision')).toHaveCount(2);
      await expect(page.locator('li.revision').first()).toContainText('Edit 2');
      expect(problems).toEqual([]);
    });
  });
}
