import { test, expect, type Page } from '@playwright/test';

import { hydrated, logIn, publishPlain, uniqueName, watch } from './helpers';

/** How many assets `name`'s profile counts for its owner, as the API says. */
async function profileCount(page: Page, name: string): Promise<number> {
  const profile = await (await page.request.get(`/api/profile?username=${name}`)).json();
  return profile.images + profile.videos;
}

// The story, with and without JavaScript: a picture made unlisted is seen by a friend
// with its link and stays out of the gallery; three trashed by mistake come back from the
// trash exactly as they were.
for (const javaScriptEnabled of [true, false]) {
  test.describe(`JavaScript ${javaScriptEnabled ? 'on' : 'off'}`, () => {
    test.use({ javaScriptEnabled });
    // Four uploads and a dozen pages: longer than most stories.
    test.setTimeout(60_000);

    test('an unlisted picture is seen by its link and listed nowhere; trashed ones come back', async ({
      page,
      browser,
      baseURL,
    }) => {
      const name = uniqueName(javaScriptEnabled ? 'curator-js' : 'curator-plain');
      // A word of its own, to look for the picture in the gallery.
      const word = `harbour${name.replace(/[^a-z0-9]/g, '')}`;
      // The three to trash stay private: the gallery is other stories' too.
      const [harbour, ...others] = await publishPlain(browser, baseURL!, name, [
        { title: `Quiet ${word}`, tags: 'harbour', visibility: 'public' },
        { title: 'Gull one', visibility: 'private' },
        { title: 'Gull two', visibility: 'private' },
        { title: 'Gull three', visibility: 'private' },
      ]);
      // Without JavaScript there is nothing to watch (and Chromium warns of the unused preload).
      const problems = javaScriptEnabled ? watch(page) : [];
      await logIn(page, name);

      // Unlisted, from the edit form.
      await page.goto(harbour);
      if (javaScriptEnabled) await hydrated(page);
      await page.locator('details.edit-asset summary').click();
      const form = page.locator('form.edit-form');
      await form.getByLabel('Visibility').selectOption('unlisted');
      await form.getByRole('button', { name: 'Save changes' }).click();
      await expect(page.getByText('unlisted: only people with its link can see this')).toBeVisible();

      // The friend opens the link; the gallery and the profile do not list it.
      const friendContext = await browser.newContext({ javaScriptEnabled, baseURL });
      const friend = await friendContext.newPage();
      await friend.goto(harbour);
      await expect(friend.getByRole('heading', { level: 1 })).toHaveText(`Quiet ${word}`);
      await friend.goto(`/?q=${word}`);
      await expect(friend.locator('.card')).toHaveCount(0);
      await friend.goto(`/u/${name}`);
      await expect(friend.locator('.asset-count')).toHaveText('0 assets');
      await friendContext.close();

      // Three trashed by mistake, one after another from their pages.
      for (const path of others) {
        await page.goto(path);
        if (javaScriptEnabled) await hydrated(page);
        await page.getByRole('button', { name: 'Delete', exact: true }).click();
        await expect(page).toHaveURL('/trash');
      }
      await expect(profileCount(page, name)).resolves.toBe(1);
      await page.goto(`/u/${name}`);
      if (javaScriptEnabled) await hydrated(page);
      await expect(page.locator('.asset-count')).toHaveText('1 asset');
      await page.getByRole('link', { name: 'Trash', exact: true }).click();
      await expect(page).toHaveURL('/trash');
      if (javaScriptEnabled) await hydrated(page);
      const rows = page.locator('li.trash-item');
      await expect(rows).toHaveCount(3);
      await expect(rows.first()).toContainText('Gull three');
      await expect(rows.first().locator('time.purge-at')).toBeVisible();
      for (const title of ['Gull one', 'Gull two', 'Gull three']) {
        await page.getByRole('button', { name: `Restore ${title}` }).click();
        await expect(page.getByRole('button', { name: `Restore ${title}` })).toHaveCount(0);
      }
      await expect(page.getByText('Your trash is empty.')).toBeVisible();
      for (const path of others) {
        await page.goto(path);
        await expect(page.getByRole('heading', { level: 1 })).toHaveText(/^Gull /);
        await expect(page.getByText('only you can see this')).toBeVisible();
      }
      await expect(profileCount(page, name)).resolves.toBe(4);
      await page.goto(`/u/${name}`);
      if (javaScriptEnabled) await hydrated(page);
      await expect(page.locator('.asset-count')).toHaveText('4 assets');
      expect(problems).toEqual([]);
    });
  });
}
