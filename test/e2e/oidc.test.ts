import { freePort } from '../helpers/net';
import { OIDC_CLIENT, startTestProvider } from '../helpers/oidc';
import type { TestProvider } from '../helpers/oidc';
import { expectAccessible } from './a11y';
import { shot, startSite, waitForAnswer, send } from './browser-harness';
import type { Site } from './browser-harness';
import type { Page } from 'playwright-core';

/** Waits until the sign-in alert says exactly this. */
async function alertSays(page: Page, text: string): Promise<void> {
  await page.waitForFunction((wanted) => document.getElementById('sign-in-error')?.textContent === wanted, text, { timeout: 10_000 });
}

/*
 * Sign-in with an identity provider in real Chromium: the app at http://localhost:<port>, the
 * provider (oidc-provider) at http://127.0.0.1:<port>, another site, so that its redirect back
 * is the cross-site navigation it is in production.
 */

jest.setTimeout(60_000);

let provider: TestProvider;
let site: Site;
let appUrl: string;

beforeAll(async () => {
  const port = await freePort();
  appUrl = `http://localhost:${port}`;
  provider = await startTestProvider({ appUrl });
  site = await startSite({
    PORT: String(port),
    PUBLIC_URL: appUrl,
    OIDC_ISSUER: provider.issuer,
    OIDC_CLIENT_ID: OIDC_CLIENT.id,
    OIDC_CLIENT_SECRET: OIDC_CLIENT.secret,
    OIDC_PROVIDER_NAME: 'Test IdP',
  });
});
afterAll(async () => {
  await site.close();
  await provider.close();
});

describe('signing in with an identity provider, in Chromium', () => {
  test('click "Sign in with Test IdP", sign in and consent at the provider, back in the chat, a streamed answer', async () => {
    const context = await site.browser.newContext();
    const page = await context.newPage();
    await page.goto(appUrl);
    const link = page.getByRole('link', { name: 'Sign in with Test IdP' });
    await link.waitFor();
    // Both methods are offered: the provider's button, then the password form.
    await page.getByLabel('Password', { exact: true }).waitFor();
    await expectAccessible(page, 'sign-in with a provider and a password');
    await shot(page, 'oidc-01-sign-in');
    await link.click();
    await page.waitForURL((url) => url.origin === provider.issuer);
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('anything');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${appUrl}/`);
    await page.locator('#composer-input').waitFor({ state: 'visible' });
    await expect(page.locator('#account-name').textContent()).resolves.toBe('Signed in as User alice');
    await send(page, 'Hello from the provider');
    await expect(waitForAnswer(page)).resolves.toContain('You wrote 23 characters');
    // The tokens stayed on the server: the page holds no cookie it can read, and no JWT anywhere.
    await expect(page.evaluate(() => document.cookie)).resolves.toBe('');
    await expect(page.evaluate(() => JSON.stringify(window.localStorage) + JSON.stringify(window.sessionStorage))).resolves.not.toMatch(
      /eyJ/,
    );
    await shot(page, 'oidc-02-signed-in');
    await context.close();
  });

  test.each([
    ['denied', 'Signing in with Test IdP was cancelled or not allowed. You can try again.'],
    ['expired', 'That sign-in took too long, or was already used. Start again.'],
    ['invalid', 'The answer from Test IdP could not be checked, so you are not signed in. Start again.'],
    ['provider_unavailable', 'Test IdP could not be reached. Try again in a moment.'],
    ['email_domain', "Your Test IdP account's email address is not one this service accepts."],
    ['unavailable', 'Signing in is not possible right now. Try again in a moment.'],
  ])('a sign-in that ended with %s shows its reason in plain words, and the way to try again', async (code, message) => {
    const context = await site.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${appUrl}/?sign_in_error=${code}`);
    await alertSays(page, message);
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).waitFor();
    // The reason is taken out of the address: a reload does not say it again.
    expect(new URL(page.url()).search).toBe('');
    await expectAccessible(page, `sign-in error ${code}`);
    await shot(page, `oidc-error-${code}`);
    await context.close();
  });

  test('cancelling at the provider brings the person back to the page, told so', async () => {
    const context = await site.browser.newContext();
    const page = await context.newPage();
    await page.goto(appUrl);
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await page.waitForURL((url) => url.origin === provider.issuer);
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
    await alertSays(page, 'Signing in with Test IdP was cancelled or not allowed. You can try again.');
    await context.close();
  });
});
