import { test, expect, type Page } from '@playwright/test';

import { hydrated, publishPlain, register, uniqueName, watch } from './helpers';

/** The like button of the card titled `title` (its name says what a press does). */
function likeOf(page: Page, title: string, liked = false) {
  return page
    .locator('ul.grid')
    .getByRole('button', { name: `${liked ? 'Unlike' : 'Like'} “${title}”` });
}

/** The titles of a listing's cards, in order. */
function titles(page: Page) {
  return page.locator('ul.grid .card-title');
}

// Each story uploads its pictures first: longer than most.
test.describe.configure({ timeout: 60_000 });

test.describe('with JavaScript', () => {
  test('a fan likes from a card and from the lightbox, and the profile sorts by likes', async ({
    page,
    browser,
    baseURL,
  }) => {
    const artist = uniqueName('likes-js');
    await publishPlain(browser, baseURL!, artist, [
      { title: 'Heron one', visibility: 'public', tags: 'bird' },
      { title: 'Heron two', visibility: 'public', tags: 'bird' },
      { title: 'Heron three', visibility: 'public', tags: 'bird' },
    ]);
    const problems = watch(page);
    const fan = uniqueName('fan');
    await register(page, fan);
    await expect(page).toHaveURL('/');
    await page.goto(`/u/${artist}?sort=liked`);
    await hydrated(page);
    await expect(titles(page)).toHaveText(['Heron three', 'Heron two', 'Heron one']);

    // A like shows at once, pressed, with its count.
    const likeSaved = () => page.waitForResponse((r) => r.url().includes('/api/assets/like'));
    const first = likeSaved();
    await likeOf(page, 'Heron one').click();
    const liked = likeOf(page, 'Heron one', true);
    await expect(liked).toHaveAttribute('aria-pressed', 'true');
    await expect(liked.locator('.like-count')).toHaveText('1');

    // The lightbox's button and the card's are one: a like in one shows in the other.
    await page.locator('article.card', { hasText: 'Heron two' }).locator('a.thumb').click();
    const lightbox = page.getByRole('dialog', { name: 'Larger view' });
    expect((await first).ok()).toBeTruthy();
    const second = likeSaved();
    await lightbox.getByRole('button', { name: 'Like “Heron two”' }).click();
    await expect(lightbox.getByRole('button', { name: 'Unlike “Heron two”' })).toHaveAttribute('aria-pressed', 'true');
    await page.keyboard.press('Escape');
    await expect(likeOf(page, 'Heron two', true).locator('.like-count')).toHaveText('1');

    // The server agrees: most liked first (ties newest first).
    expect((await second).ok()).toBeTruthy();
    await page.reload();
    await hydrated(page);
    await expect(titles(page)).toHaveText(['Heron two', 'Heron one', 'Heron three']);
    await expect(likeOf(page, 'Heron two', true)).toHaveAttribute('aria-pressed', 'true');

    // The fan's "Liked" tab lists both; taking a like back leaves one.
    await page.goto(`/u/${fan}/liked`);
    await hydrated(page);
    await expect(page.getByRole('link', { name: 'Liked' })).toHaveAttribute('aria-current', 'page');
    await expect(titles(page)).toHaveText(['Heron two', 'Heron one']);
    const unliked = page.waitForResponse((r) => r.url().includes('/api/assets/like'));
    await likeOf(page, 'Heron one', true).click();
    await expect(likeOf(page, 'Heron one').locator('.like-count')).toHaveText('0');
    // The count shows at once; the server's answer comes a moment later.
    expect((await unliked).ok()).toBeTruthy();
    await page.reload();
    await expect(titles(page)).toHaveText(['Heron two']);

    // The asset page has the button too, and counts views by others.
    await page.locator('.card-title a', { hasText: 'Heron two' }).click();
    await expect(page.locator('.appreciation .views')).toHaveText(/^\d+ views?$/);
    await expect(page.locator('.appreciation').getByRole('button', { name: 'Unlike “Heron two”' })).toBeVisible();
    expect(problems).toEqual([]);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the like button is a form that comes back to the page, and visitors are asked to log in', async ({
    page,
    browser,
    baseURL,
  }) => {
    const artist = uniqueName('likes-nojs');
    await publishPlain(browser, baseURL!, artist, [
      { title: 'Kestrel one', visibility: 'public', tags: 'bird' },
      { title: 'Kestrel two', visibility: 'public', tags: 'bird' },
    ]);
    // A visitor's button is a link to log in that comes back here.
    await page.goto(`/u/${artist}?sort=liked`);
    const login = page.locator('ul.grid a.like').first();
    await expect(login).toHaveAttribute('href', `/login?next=%2Fu%2F${artist}%3Fsort%3Dliked`);

    await register(page, uniqueName('fan-nojs'));
    await page.goto(`/u/${artist}?sort=liked`);
    await expect(titles(page)).toHaveText(['Kestrel two', 'Kestrel one']);
    await likeOf(page, 'Kestrel one').click();
    await expect(page).toHaveURL(`/u/${artist}?sort=liked`);
    await expect(titles(page)).toHaveText(['Kestrel one', 'Kestrel two']);
    const liked = likeOf(page, 'Kestrel one', true);
    await expect(liked).toHaveAttribute('aria-pressed', 'true');
    await expect(liked.locator('.like-count')).toHaveText('1');

    // "This week" and "Most liked" are plain form fields.
    await page.goto(`/u/${artist}`);
    await page.getByLabel('Order').selectOption('liked');
    await page.getByLabel('Published').selectOption('week');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect(page).toHaveURL(/period=week/);
    await expect(titles(page)).toHaveText(['Kestrel one', 'Kestrel two']);
  });
});
