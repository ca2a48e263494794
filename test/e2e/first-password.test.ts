import type { Page } from 'playwright-core';
import { Accounts } from '../../src/auth/accounts';
import type { UserStore } from '../../src/stores/user-store';
import { axFacts, expectAccessible, liveRegionsChangedUnseen, watchLiveRegions } from './a11y';
import { activeElementId, send, shot, signIn, waitForAnswer } from './browser-harness';
import type { Site } from './browser-harness';
import { usePageSite } from './page-site';

jest.setTimeout(60_000);

const { site: running, open, current } = usePageSite({ RATE_LIMIT_REQUESTS: '50', GUEST_PLAN: 'default' });

const REQUIRED = 'You signed in with a one-time password. Choose your own to continue; the one-time password then stops working.';
const OPTIONAL = 'Choose a new password. Your sessions in other browsers and on other devices then end.';

/** The site's accounts, as `npm run users` and the release phase handle them. */
function accounts(site: Site, users: UserStore = site.composition.stores.users): Accounts {
  const { stores, passwords, config } = site.composition;
  return new Accounts({ users, sessions: stores.sessionIndex, plans: stores.plans }, passwords, new Set(config.plans.keys()));
}

/**
 * Makes `username` the way the release phase makes a new deployment's first user, and returns its
 * one-time password. The site has users already (the in-process demo user, earlier tests'), so
 * the store is shown to createFirstUser as a new deployment's: empty.
 */
async function oneTimeUser(site: Site, username: string): Promise<string> {
  const users = site.composition.stores.users;
  const empty: UserStore = {
    get: (name) => users.get(name),
    put: (user) => users.put(user),
    remove: (name) => users.remove(name),
    list: () => Promise.resolve([]),
  };
  const password = await accounts(site, empty).createFirstUser(username, 24 * 3600 * 1000, Date.now());
  if (password === undefined) throw new Error('expected a one-time password');
  return password;
}

/** Signs in with a one-time password: the password form shows, not the chat. */
async function signInToChoose(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#choose-password').waitFor({ state: 'visible' });
}

async function choose(page: Page, currentPassword: string, newPassword: string): Promise<void> {
  await page.getByLabel('Current password').fill(currentPassword);
  await page.getByLabel('New password').fill(newPassword);
  await page.getByRole('button', { name: 'Save password' }).click();
}

/** Waits until the alert with this id says exactly this. */
async function alertSays(page: Page, id: string, text: string): Promise<void> {
  await page.waitForFunction(([where, wanted]) => document.getElementById(where)?.textContent === wanted, [id, text] as const, {
    timeout: 10_000,
  });
}

describe('choosing a password on the chat page', () => {
  test('signed in with a one-time password, the page asks for a password of the person’s own first; mistakes are explained; once chosen, the chat answers and only the new password signs in', async () => {
    const oneTime = await oneTimeUser(running(), 'admin');
    const page = await open();
    await signInToChoose(page, 'admin', oneTime);
    // A reload asks again (GET /auth/me says so too): nothing else works until a password is chosen.
    await page.reload();
    await page.locator('#choose-password').waitFor({ state: 'visible' });
    await page.evaluate(watchLiveRegions);

    await expect(page.getByRole('heading', { name: 'Choose your password' }).isVisible()).resolves.toBe(true);
    await expect(page.locator('#choose-password-reason').textContent()).resolves.toBe(REQUIRED);
    for (const hidden of ['#chat', '#sign-in', '#skip-link', '#status', '#change-password', '#choose-password-cancel'])
      await expect(page.locator(hidden).isHidden()).resolves.toBe(true);
    await expect(page.locator('#account-name').textContent()).resolves.toBe('Signed in as admin');
    await expect(page.getByRole('button', { name: 'Sign out' }).isVisible()).resolves.toBe(true);
    expect(await activeElementId(page)).toBe('current-password');
    await expect(axFacts(page, '#current-password')).resolves.toMatchObject({
      inTree: true,
      name: 'Current password',
      description: REQUIRED,
    });
    await expect(axFacts(page, '#new-password')).resolves.toMatchObject({
      inTree: true,
      name: 'New password',
      description: 'At least 8 characters.',
    });
    await expect(page.locator('#current-password').getAttribute('autocomplete')).resolves.toBe('current-password');
    await expect(page.locator('#new-password').getAttribute('autocomplete')).resolves.toBe('new-password');
    await expect(page.locator('#new-password').getAttribute('minlength')).resolves.toBe('8');
    // The alert is in the accessibility tree, empty, before it has anything to say.
    await expect(axFacts(page, '#choose-password-error')).resolves.toEqual({ inTree: true, role: 'alert', name: '', description: '' });
    await shot(page, 'first-password-01-choose');
    await expectAccessible(page, 'password form after a one-time password');

    await choose(page, 'not-the-one-time-password', 'a password of my own');
    await alertSays(page, 'choose-password-error', 'The current password is wrong.');
    expect(await activeElementId(page)).toBe('current-password');
    await expect(page.locator('#chat').isHidden()).resolves.toBe(true);
    await shot(page, 'first-password-02-wrong-current');
    await expectAccessible(page, 'password form, wrong current password');

    await choose(page, oneTime, 'short');
    await alertSays(page, 'choose-password-error', 'Your new password needs at least 8 characters.');
    expect(await activeElementId(page)).toBe('new-password');
    await expectAccessible(page, 'password form, new password too short');
    // Said by the page itself: only the wrong current password went to the server.
    expect(current().requests.filter((url) => new URL(url).pathname === '/auth/password')).toHaveLength(1);

    await choose(page, oneTime, 'a password of my own');
    await page.locator('#composer-input').waitFor({ state: 'visible' });
    expect(await activeElementId(page)).toBe('composer-input');
    await page.locator('#notice-text', { hasText: 'Your new password is saved.' }).waitFor();
    await page.locator('#status', { hasText: 'requests left' }).waitFor();
    await expect(page.locator('#choose-password').isHidden()).resolves.toBe(true);
    await expect(page.locator('#current-password').inputValue()).resolves.toBe('');
    await expect(page.locator('#new-password').inputValue()).resolves.toBe('');
    await send(page, 'Hello with my own password');
    await expect(waitForAnswer(page)).resolves.toContain('You wrote 26 characters');
    await shot(page, 'first-password-03-chat');
    await expectAccessible(page, 'chat after choosing a password');
    await expect(liveRegionsChangedUnseen(page)).resolves.toEqual([]);

    // The one-time password has stopped working; the chosen one signs in, straight to the chat.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(oneTime);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await alertSays(page, 'sign-in-error', 'Wrong username or password.');
    await signIn(page, 'admin', 'a password of my own');
    await expect(page.locator('#choose-password').isHidden()).resolves.toBe(true);
  });

  test('when a message is refused with 403 password_change_required (a one-time sign-in in another tab), the password form shows and the message stays in the box', async () => {
    const oneTime = await oneTimeUser(running(), 'owner');
    const page = await open();
    current().expectStatuses.add(403);
    await signIn(page);
    // Another tab of the same browser (which shows the chat too: one cookie) signs in with the
    // one-time password: from now on the cookie is that session's.
    const otherTab = await current().context.newPage();
    await otherTab.goto(running().running.url);
    const status = await otherTab.evaluate(
      async ([username, password]) =>
        (
          await fetch('/auth/login', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ username, password }),
          })
        ).status,
      ['owner', oneTime] as const,
    );
    expect(status).toBe(200);
    await otherTab.close();

    await send(page, 'Is anyone there?');
    await page.locator('#choose-password').waitFor({ state: 'visible' });
    expect(await activeElementId(page)).toBe('current-password');
    await expect(page.locator('#choose-password-reason').textContent()).resolves.toBe(REQUIRED);
    await expect(page.locator('#composer-input').inputValue()).resolves.toBe('Is anyone there?');
    await expect(page.locator('#log .message').count()).resolves.toBe(0);
    expect(running().standIn.requests).toHaveLength(0);
    await expectAccessible(page, 'password form after a refused message');

    await choose(page, oneTime, 'the owner’s own password');
    await page.locator('#composer-input').waitFor({ state: 'visible' });
    await expect(page.locator('#account-name').textContent()).resolves.toBe('Signed in as owner');
    await expect(page.locator('#composer-input').inputValue()).resolves.toBe('Is anyone there?');
  });

  test('a password user can change their password from the top bar, or go back to the chat; their other sessions end', async () => {
    await accounts(running()).setPassword('carol', 'carol first password');
    const elsewhere = await running().browser.newContext();
    const elsewherePage = await elsewhere.newPage();
    await elsewherePage.goto(running().running.url);
    await signIn(elsewherePage, 'carol', 'carol first password');

    const page = await open();
    await signIn(page, 'carol', 'carol first password');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.locator('#choose-password').waitFor({ state: 'visible' });
    expect(await activeElementId(page)).toBe('current-password');
    await expect(axFacts(page, '#current-password')).resolves.toMatchObject({ name: 'Current password', description: OPTIONAL });
    await expect(page.locator('#change-password').isHidden()).resolves.toBe(true);
    await expect(page.locator('#chat').isHidden()).resolves.toBe(true);
    await shot(page, 'change-password-01-form');
    await expectAccessible(page, 'password form from the top bar');

    await page.getByLabel('Current password').fill('typed, then left');
    await page.getByRole('button', { name: 'Back to the chat' }).click();
    await page.locator('#composer-input').waitFor({ state: 'visible' });
    expect(await activeElementId(page)).toBe('composer-input');
    await expect(page.locator('#current-password').inputValue()).resolves.toBe('');

    await page.getByRole('button', { name: 'Change password' }).click();
    await choose(page, 'carol first password', 'carol second password');
    await page.locator('#composer-input').waitFor({ state: 'visible' });
    await page.locator('#notice-text', { hasText: 'Your new password is saved.' }).waitFor();
    await send(page, 'Still here?');
    await expect(waitForAnswer(page)).resolves.toContain('You wrote 11 characters');

    // The other browser's session has ended: reloaded, it asks to sign in.
    await elsewherePage.reload();
    await elsewherePage.locator('#sign-in').waitFor({ state: 'visible' });
    await elsewhere.close();
  });

  test('on a phone-width screen, the top bar and the password form fit without sideways scrolling', async () => {
    await accounts(running()).setPassword('dave', 'dave first password');
    const page = await open({ width: 375, height: 740 });
    await signIn(page, 'dave', 'dave first password');
    await shot(page, 'change-password-02-phone-chat');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.locator('#choose-password').waitFor({ state: 'visible' });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, 'change-password-03-phone-form');
    await expectAccessible(page, 'phone width, password form');
  });

  test('a guest (who has no password) is not offered "Change password"', async () => {
    const page = await open();
    await page.getByRole('button', { name: 'Try without signing in' }).click();
    await page.locator('#account-name', { hasText: 'Trying without an account' }).waitFor();
    await expect(page.locator('#change-password').isHidden()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Sign out' }).isVisible()).resolves.toBe(true);
  });
});
