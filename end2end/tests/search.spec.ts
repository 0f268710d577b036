import { test, expect, type APIRequestContext, type Page } from '@playwright/test';
import { hydrated, watch } from './helpers';

type Item = { id: string; title: string; media_type: 'image' | 'video'; tags: string[]; owner: string };
type AssetPage = { items: Item[]; next_cursor: string | null };
type FacetCount = { value: string; count: number };
type Facets = { counted: number; more: boolean; types: FacetCount[]; tags: FacetCount[]; models: FacetCount[] };

async function facetsOf(request: APIRequestContext, query: string): Promise<Facets> {
  const res = await request.get(`/api/facets?${query}`);
  expect(res.ok(), `${query}: ${await res.text()}`).toBeTruthy();
  return res.json();
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What the facet bar says about how many matches there are. */
function total(facets: Facets): string | RegExp {
  return facets.more ? /^More than 1,000 matches/ : `${facets.counted} match${facets.counted === 1 ? '' : 'es'}`;
}

/** The first page the API gives for a query string. */
async function firstPage(request: APIRequestContext, query: string): Promise<AssetPage> {
  const res = await request.get(`/api/assets?${query}`);
  expect(res.ok(), `${query}: ${await res.text()}`).toBeTruthy();
  return res.json();
}

/** A tag some videos carry and some do not (so filtering by it changes the list). */
async function videoTag(request: APIRequestContext): Promise<string> {
  const videos = await firstPage(request, 'type=video&limit=100');
  const counts = new Map<string, number>();
  for (const v of videos.items) for (const t of v.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
  const tag = [...counts.entries()].find(([, n]) => n > 0 && n < videos.items.length)?.[0];
  expect(tag, 'the demo videos carry varied tags').toBeDefined();
  return tag!;
}

async function titles(page: Page): Promise<string[]> {
  return page.locator('ul.grid .card-title').allTextContents();
}

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the filter form narrows the gallery by type and tag, in the URL', async ({ page, request }) => {
    const tag = await videoTag(request);
    await page.goto('/');
    await page.locator('select[name=type]').selectOption('video');
    await page.getByText('More filters').click();
    await page.getByLabel('With tags').fill(tag);
    await page.getByRole('button', { name: 'Search' }).click();

    await expect(page).toHaveURL(/[?&]type=video/);
    expect(new URL(page.url()).searchParams.get('tags')).toBe(tag);
    const expected = await firstPage(request, `type=video&tags=${encodeURIComponent(tag)}`);
    expect(expected.items.length).toBeGreaterThan(0);
    await expect(page.locator('ul.grid .card-title')).toHaveText(expected.items.map((i) => i.title));
    await expect(page.locator('ul.grid .card[data-media-type=image]')).toHaveCount(0);
    // The form shows what is applied.
    await expect(page.locator('select[name=type]')).toHaveValue('video');
    await expect(page.getByLabel('With tags')).toHaveValue(tag);
  });

  test('a search the box cannot understand says why, next to the form', async ({ page }) => {
    await page.goto('/');
    await page.getByRole('searchbox').fill('cats after:yesterday');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect(page.getByRole('alert')).toContainText('“yesterday” is not a date');
    await expect(page.getByRole('searchbox')).toHaveValue('cats after:yesterday');
  });
});

test.describe('with JavaScript', () => {
  test('filters apply in place, the URL follows, and back restores the earlier results', async ({ page, request }) => {
    const problems = watch(page);
    const tag = await videoTag(request);
    const everything = await firstPage(request, '');
    const videos = await firstPage(request, 'type=video');
    const tagged = await firstPage(request, `q=${encodeURIComponent(`tag:${tag}`)}&type=video`);

    await page.goto('/');
    await hydrated(page);
    await page.evaluate(() => ((window as any).__sameDocument = true));
    await expect(page.locator('ul.grid .card-title')).toHaveText(everything.items.map((i) => i.title));

    // Choosing a type applies at once.
    await page.locator('select[name=type]').selectOption('video');
    await expect(page).toHaveURL(/\/\?type=video$/);
    await expect(page.locator('ul.grid .card-title')).toHaveText(videos.items.map((i) => i.title));

    // The search box takes the syntax; only filled-in fields reach the URL.
    await page.getByRole('searchbox').fill(`tag:${tag}`);
    await page.getByRole('searchbox').press('Enter');
    await expect(page).toHaveURL(`/?q=tag%3A${encodeURIComponent(tag)}&type=video`);
    await expect(page.locator('ul.grid .card-title')).toHaveText(tagged.items.map((i) => i.title));

    // Back and forward walk through the earlier results, the form following.
    await page.goBack();
    await expect(page).toHaveURL(/\/\?type=video$/);
    await expect(page.locator('ul.grid .card-title')).toHaveText(videos.items.map((i) => i.title));
    await expect(page.getByRole('searchbox')).toHaveValue('');
    await page.goBack();
    await expect(page.locator('ul.grid .card-title')).toHaveText(everything.items.map((i) => i.title));
    await expect(page.locator('select[name=type]')).toHaveValue('');
    await page.goForward();
    await expect(page.locator('ul.grid .card-title')).toHaveText(videos.items.map((i) => i.title));

    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
    expect(problems).toEqual([]);
  });

  test('the facets count the results, and each is a link that narrows them', async ({ page, request }) => {
    const problems = watch(page);
    const everything = await facetsOf(request, '');
    const videos = everything.types.find((t) => t.value === 'video');
    expect(videos, 'the demo has videos').toBeDefined();
    await page.goto('/');
    await hydrated(page);
    const facets = page.getByRole('navigation', { name: 'Narrow the results' });
    await expect(facets.locator('.facet-total')).toHaveText(total(everything));
    await facets.getByRole('link', { name: /^Videos/ }).click();
    await expect(page).toHaveURL('/?type=video');
    const first = await firstPage(request, 'type=video');
    await expect(page.locator('ul.grid .card-title')).toHaveText(first.items.map((i) => i.title));
    const narrowed = await facetsOf(request, 'type=video');
    expect(narrowed.counted).toBe(Math.min(videos!.count, 1000));
    await expect(facets.locator('.facet-total')).toHaveText(total(narrowed));
    // The type is chosen: only tags and models are left to choose from.
    await expect(facets.getByRole('link', { name: /^Images/ })).toHaveCount(0);
    expect(problems).toEqual([]);
  });

  test('a tag facet narrows the results in place, and its count is what the results hold', async ({ page, request }) => {
    const problems = watch(page);
    const everything = await facetsOf(request, '');
    const top = everything.tags[0];
    expect(top, 'the demo has tags').toBeDefined();
    const tagged = await firstPage(request, `tags=${encodeURIComponent(top.value)}`);
    const narrowed = await facetsOf(request, `tags=${encodeURIComponent(top.value)}`);

    await page.goto('/');
    await hydrated(page);
    await page.evaluate(() => ((window as any).__sameDocument = true));
    const facets = page.getByRole('navigation', { name: 'Narrow the results' });
    await expect(facets.locator('.facet-total')).toHaveText(total(everything));
    const link = facets.getByRole('link', { name: `#${top.value} ${top.count.toLocaleString('en-US')}` });
    await link.click();
    await expect(page).toHaveURL(`/?tags=${encodeURIComponent(top.value)}`);
    await expect(page.locator('ul.grid .card-title')).toHaveText(tagged.items.map((i) => i.title));
    await expect(facets.locator('.facet-total')).toHaveText(total(narrowed));
    // The chosen tag is no longer offered; the form shows it.
    await expect(facets.locator('a', { hasText: new RegExp(`^#${escapeRe(top.value)}\\s`) })).toHaveCount(0);
    await expect(page.getByLabel('With tags')).toHaveValue(top.value);
    if (!everything.more && !narrowed.more) {
      // Nothing capped: the tag's count is how many results it now has.
      expect(narrowed.counted).toBe(top.count);
    }
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
    expect(problems).toEqual([]);
  });

  test('a shared filtered URL shows the same results, and scrolling appends the next page of them', async ({ page, request }) => {
    const problems = watch(page);
    const first = await firstPage(request, 'type=image&limit=24');
    expect(first.next_cursor, 'the demo has more than a page of images').not.toBeNull();
    const second = await firstPage(request, `type=image&cursor=${first.next_cursor}`);

    await page.goto('/?type=image');
    await hydrated(page);
    await expect(page.locator('ul.grid .card-title')).toHaveText(first.items.map((i) => i.title));
    await page.locator('.more').scrollIntoViewIfNeeded();
    const both = [...first.items, ...second.items].map((i) => i.title);
    await expect.poll(async () => (await titles(page)).length).toBeGreaterThanOrEqual(both.length);
    expect((await titles(page)).slice(0, both.length)).toEqual(both);
    await expect(page.locator('ul.grid .card[data-media-type=video]')).toHaveCount(0);
    expect(problems).toEqual([]);
  });

  test('the lightbox steps through the results with the arrow keys and closes with Escape', async ({ page, request }) => {
    const problems = watch(page);
    const first = await firstPage(request, '');
    await page.goto('/');
    await hydrated(page);
    await page.locator('ul.grid .card .thumb').first().click();
    const dialog = page.getByRole('dialog', { name: 'Larger view' });
    await expect(dialog).toBeVisible();
    await expect(dialog.locator('.lightbox-title')).toHaveText(first.items[0].title);
    await expect(dialog.locator('.lightbox-title')).toHaveAttribute('href', `/a/${first.items[0].id}`);
    await page.keyboard.press('ArrowRight');
    await expect(dialog.locator('.lightbox-title')).toHaveText(first.items[1].title);
    await page.keyboard.press('ArrowLeft');
    await expect(dialog.locator('.lightbox-title')).toHaveText(first.items[0].title);
    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
    expect(new URL(page.url()).pathname).toBe('/');
    expect(problems).toEqual([]);
  });

  test('a profile lists the person’s assets with a summary, and tag links lead to tag pages', async ({ page, request }) => {
    const problems = watch(page);
    const first = await firstPage(request, '');
    const owner = first.items[0].owner;
    const theirs = await firstPage(request, `owner=${encodeURIComponent(owner)}`);
    const profile = await (await request.get(`/api/profile?username=${encodeURIComponent(owner)}`)).json();

    await page.goto('/');
    await hydrated(page);
    await page.locator('ul.grid .card .owner').first().click();
    await expect(page).toHaveURL(`/u/${encodeURIComponent(owner)}`);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(owner);
    await expect(page.locator('.asset-count')).toHaveText(
      `${profile.images + profile.videos} asset${profile.images + profile.videos === 1 ? '' : 's'}`,
    );
    await expect(page.locator('ul.grid .card-title')).toHaveText(theirs.items.map((i) => i.title));

    // The newest asset with a tag (other stories publish untagged pictures at the same time).
    const withTag = first.items.find((i) => i.tags.length > 0)!;
    const tag = withTag.tags[0];
    const tagged = await firstPage(request, `tags=${encodeURIComponent(tag)}`);
    await page.goto(`/a/${withTag.id}`);
    await page.locator('.tags a', { hasText: tag }).first().click();
    await expect(page).toHaveURL(`/t/${encodeURIComponent(tag)}`);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`#${tag}`);
    await expect(page.locator('ul.grid .card-title')).toHaveText(tagged.items.map((i) => i.title));
    expect(problems).toEqual([]);
  });
});
