import { test, expect, type Browser, type Page } from '@playwright/test';

import { PASSWORD, hydrated, register, uniqueName, watch } from './helpers';

async function login(page: Page, username: string, password = PASSWORD) {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const header = (page: Page) => page.locator('.site-header');

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a visitor registers, logs out and logs in again with plain forms', async ({ page }) => {
    const name = uniqueName('nojs');
    await register(page, name);
    await expect(page).toHaveURL('/');
    await expect(header(page).getByRole('link', { name })).toBeVisible();

    await header(page).getByRole('button', { name: 'Log out' }).click();
    await expect(header(page).getByRole('link', { name: 'Log in' })).toBeVisible();

    // A wrong password comes back to the form with the reason.
    await login(page, name, 'not the password');
    await expect(page.getByRole('alert')).toHaveText('wrong username or password');
    await expect(header(page).getByRole('link', { name: 'Log in' })).toBeVisible();

    await login(page, name);
    await expect(header(page).getByRole('link', { name })).toBeVisible();

    // The account page lists this browser's session.
    await header(page).getByRole('link', { name }).click();
    await expect(page).toHaveURL('/account');
    await expect(page.locator('.whoami')).toContainText(`Logged in as ${name}`);
    await expect(page.locator('.session.current .device')).toHaveText('Headless Chrome on Linux');
  });

  test('the account page asks visitors to log in first, then comes back', async ({ page }) => {
    const name = uniqueName('back');
    await page.goto('/account');
    await expect(page).toHaveURL('/login?next=/account');
    await page.getByRole('link', { name: 'Register' }).last().click();
    await expect(page).toHaveURL('/register?next=/account');
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page).toHaveURL('/account');
    await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  });
});

test.describe('with JavaScript', () => {
  test('errors show inline and the header follows logins and logouts', async ({ page }) => {
    const problems = watch(page);
    const name = uniqueName('js');

    await page.goto('/register');
    await hydrated(page);
    // Markup typed as a username is refused and shown as text.
    await page.getByLabel('Username').fill('</script><script>alert(1)</script>');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    // The browser's own pattern check would stop this form; let the server answer.
    await page.locator('form').evaluate((form: HTMLFormElement) => (form.noValidate = true));
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByRole('alert')).toContainText('a username');
    await expect(page).toHaveURL('/register');

    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password', { exact: true }).fill('iloveyou');
    await page.getByLabel('Repeat the password').fill('iloveyou');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByRole('alert')).toContainText('most common');

    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Repeat the password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page).toHaveURL('/');
    await expect(header(page).getByRole('link', { name })).toBeVisible();

    await header(page).getByRole('button', { name: 'Log out' }).click();
    await expect(header(page).getByRole('link', { name: 'Log in' })).toBeVisible();

    await page.goto('/login');
    await hydrated(page);
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page.getByRole('alert')).toHaveText('wrong username or password');
    await expect(page).toHaveURL('/login');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page).toHaveURL('/');
    await expect(header(page).getByRole('link', { name })).toBeVisible();
    expect(problems).toEqual([]);
  });

  test('a session on another device is listed and revoking it logs that device out', async ({ browser }) => {
    const name = uniqueName('two');
    const { page: laptop, close: closeLaptop } = await device(browser);
    const { page: phone, close: closePhone } = await device(browser);
    const problems = watch(laptop);

    await register(laptop, name);
    await expect(header(laptop).getByRole('link', { name })).toBeVisible();
    await login(phone, name);
    await expect(header(phone).getByRole('link', { name })).toBeVisible();

    await laptop.goto('/account');
    await hydrated(laptop);
    const sessions = laptop.locator('.session');
    await expect(sessions).toHaveCount(2);
    await expect(laptop.locator('.session.current')).toHaveCount(1);
    await expect(laptop.locator('.session.current .this-device')).toHaveText('this device');

    await laptop.locator('.session:not(.current)').getByRole('button', { name: 'Revoke' }).click();
    await expect(sessions).toHaveCount(1);
    await expect(laptop).toHaveURL('/account');

    await phone.reload();
    await expect(header(phone).getByRole('link', { name: 'Log in' })).toBeVisible();
    await phone.goto('/account');
    await expect(phone).toHaveURL('/login?next=/account');
    expect(problems).toEqual([]);
    await closeLaptop();
    await closePhone();
  });

  test('changing the password ends the other sessions', async ({ browser }) => {
    const name = uniqueName('pw');
    const { page: here, close: closeHere } = await device(browser);
    const { page: there, close: closeThere } = await device(browser);
    const problems = watch(here);

    await register(here, name);
    await expect(header(here).getByRole('link', { name })).toBeVisible();
    await login(there, name);
    await expect(header(there).getByRole('link', { name })).toBeVisible();

    await here.goto('/account');
    await hydrated(here);
    await expect(here.locator('.session')).toHaveCount(2);
    await here.getByLabel('Current password').fill(PASSWORD);
    await here.getByLabel('New password', { exact: true }).fill('amber lantern hums');
    await here.getByLabel('Repeat the new password').fill('amber lantern hums');
    await here.getByRole('button', { name: 'Change password' }).click();
    await expect(here.getByRole('status')).toContainText('Password changed');
    await expect(here.locator('.session')).toHaveCount(1);

    await there.reload();
    await expect(header(there).getByRole('link', { name: 'Log in' })).toBeVisible();
    await login(there, name, 'amber lantern hums');
    await expect(header(there).getByRole('link', { name })).toBeVisible();
    expect(problems).toEqual([]);
    await closeHere();
    await closeThere();
  });
});

/** A separate browser profile: its own cookies, as another device would have. */
async function device(browser: Browser) {
  const context = await browser.newContext({ baseURL: test.info().project.use.baseURL });
  const page = await context.newPage();
  return { page, close: () => context.close() };
}
