import { expectAccessible } from './a11y';
import { send, shot, startSite, waitForAnswer } from './browser-harness';
import type { Site } from './browser-harness';

jest.setTimeout(60_000);

let site: Site;
beforeAll(async () => {
  site = await startSite({ GUEST_PLAN: 'default' });
});
afterAll(() => site.close());

test('with GUEST_PLAN, the page offers "Try without signing in", and a visitor can chat at once', async () => {
  const context = await site.browser.newContext();
  const page = await context.newPage();
  await page.goto(site.running.url);
  const tryIt = page.getByRole('button', { name: 'Try without signing in' });
  await tryIt.waitFor();
  await expectAccessible(page, 'sign-in with the guest button');
  await tryIt.click();
  await page.locator('#composer-input').waitFor({ state: 'visible' });
  await page.locator('#account-name', { hasText: 'Trying without an account' }).waitFor();
  await send(page, 'Hello as a guest');
  await expect(waitForAnswer(page)).resolves.toContain('You wrote 16 characters');
  await shot(page, 'guest-01-chat');
  await context.close();
});
