import { axFacts, expectAccessible, liveRegionsChangedUnseen, watchLiveRegions } from './a11y';
import { activeElementId, lastAnswer, send, shot, signIn, waitForAnswer } from './browser-harness';
import { usePageSite, words } from './page-site';

jest.setTimeout(60_000);

const { site: running, open, current } = usePageSite({ RATE_LIMIT_REQUESTS: '50' });

describe('the chat page when things go wrong', () => {
  test('when Perf fails (5xx), says so with a Retry button, keeps the message, and Retry sends it again', async () => {
    const page = await open();
    current().expectStatuses.add(502);
    await signIn(page);
    await page.evaluate(watchLiveRegions);
    // The notice's alert is in the accessibility tree, empty, before it has anything to say.
    await expect(axFacts(page, '#notice-text')).resolves.toEqual({ inTree: true, role: 'alert', name: '', description: '' });
    // The server retries Perf twice before giving up: three failures make one 502.
    running().standIn.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    await send(page, 'this one fails first');
    const notice = page.locator('#notice');
    await notice.filter({ hasText: 'The model service could not answer.' }).waitFor();
    // The alert is the text alone; Retry sits beside it, outside any live region.
    const alert = page.getByRole('alert').filter({ hasText: 'The model service could not answer.' });
    await expect(alert.getAttribute('id')).resolves.toBe('notice-text');
    await expect(alert.locator('button').count()).resolves.toBe(0);
    await expect(page.locator('#retry').isVisible()).resolves.toBe(true);
    await expect(
      page.locator('#retry').evaluate((retry) => retry.closest('[role="alert"], [role="status"], [role="log"]')),
    ).resolves.toBeNull();
    await expectAccessible(page, 'notice with Retry');
    await expect(page.locator('#composer-input').inputValue()).resolves.toBe('this one fails first');
    await expect(page.locator('#log .message').count()).resolves.toBe(0);
    await shot(page, '07-upstream-error');

    running().standIn.enqueue({ reply: 'Worked this time.', chunkDelayMs: 0 });
    await page.getByRole('button', { name: 'Retry' }).click();
    await expect(waitForAnswer(page)).resolves.toBe('Worked this time.');
    await expect(notice.isHidden()).resolves.toBe(true);
    await expect(page.locator('#log .message-user .message-text').textContent()).resolves.toBe('this one fails first');
    // Emptied, the alert stays in the tree for the next notice.
    await expect(axFacts(page, '#notice-text')).resolves.toMatchObject({ inTree: true, role: 'alert', name: '' });
    await expect(liveRegionsChangedUnseen(page)).resolves.toEqual([]);
  });

  test('when the stream breaks off mid-answer, the partial answer is marked and Retry asks again', async () => {
    const page = await open();
    await signIn(page);
    running().standIn.enqueue({ reply: words(10), chunkDelayMs: 20, failAfterChunks: 4 });
    await send(page, 'break please');
    await waitForAnswer(page, 'error');
    await expect(lastAnswer(page).locator('.message-meta').textContent()).resolves.toBe('The answer broke off.');
    await page.locator('#notice', { hasText: 'The answer broke off' }).waitFor();
    await expectAccessible(page, 'answer broken off, with Retry');
    running().standIn.enqueue({ reply: 'Complete now.', chunkDelayMs: 0 });
    await page.getByRole('button', { name: 'Retry' }).click();
    await expect(waitForAnswer(page)).resolves.toBe('Complete now.');
    await expect(page.locator('#log .message-assistant').count()).resolves.toBe(1);
    const last = running().standIn.requests.at(-1)?.body as { messages: { role: string }[] };
    expect(last.messages.map((m) => m.role)).toEqual(['user']);
  });

  test('when the session has ended, sending goes back to sign-in and the typed text survives signing in again', async () => {
    const page = await open();
    await signIn(page);
    running().standIn.enqueue({ reply: 'Before expiry.', chunkDelayMs: 0 });
    await send(page, 'before');
    await waitForAnswer(page);
    await current().context.clearCookies();
    await send(page, 'typed while signed out');
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    await expect(page.locator('#sign-in-reason').textContent()).resolves.toContain('Your session has ended');
    await expect(page.getByLabel('Username').inputValue()).resolves.toBe('demo');
    expect(await activeElementId(page)).toBe('password');
    await shot(page, '08-session-ended');
    // Focus lands on the password, which a screen reader reads with the reason it is asked again.
    await expect(axFacts(page, '#password')).resolves.toMatchObject({
      name: 'Password',
      description: expect.stringContaining('Your session has ended.') as unknown,
    });
    await expectAccessible(page, 'sign-in form, session ended');

    await page.getByLabel('Password', { exact: true }).fill('demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#composer-input').waitFor({ state: 'visible' });
    await expect(page.locator('#composer-input').inputValue()).resolves.toBe('typed while signed out');
    await expect(page.locator('#log .message-assistant .message-text').textContent()).resolves.toBe('Before expiry.');
  });

  test('when offline, says so plainly and keeps the message; back online, it sends', async () => {
    const page = await open();
    await signIn(page);
    await page.evaluate(watchLiveRegions);
    // The banner's status region is in the accessibility tree, empty, before the connection drops.
    await expect(axFacts(page, '#connection')).resolves.toEqual({ inTree: true, role: 'status', name: '', description: '' });
    await expect(page.locator('#connection').isHidden()).resolves.toBe(true);
    await current().context.setOffline(true);
    await page.locator('#connection', { hasText: 'You are offline.' }).waitFor();
    await send(page, 'sent from a tunnel');
    await page.locator('#notice', { hasText: 'You are offline.' }).waitFor();
    await expect(page.locator('#composer-input').inputValue()).resolves.toBe('sent from a tunnel');
    await shot(page, '09-offline');
    await expectAccessible(page, 'offline banner and notice');
    await expect(liveRegionsChangedUnseen(page)).resolves.toEqual([]);
    await current().context.setOffline(false);
    await page.locator('#connection').waitFor({ state: 'hidden' });
    await page.locator('#composer-input').press('Enter');
    await expect(waitForAnswer(page)).resolves.toContain('You wrote 18 characters');
  });

  test('when Sign out is pressed, the session ends on the server and the conversation leaves the page', async () => {
    const page = await open();
    await signIn(page);
    running().standIn.enqueue({ reply: 'Something private.', chunkDelayMs: 0 });
    await send(page, 'private question');
    await waitForAnswer(page);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    await expect(page.locator('#sign-in-reason').textContent()).resolves.toBe('You have signed out.');
    await expect(page.locator('#log li').count()).resolves.toBe(0);
    await expect(page.getByText('Something private.').count()).resolves.toBe(0);
    const me = await page.evaluate(async () => (await fetch('/auth/me')).status);
    expect(me).toBe(401);
    const cookies = await current().context.cookies();
    expect(cookies.find((c) => c.name === 'perf-bff.sid')).toBeUndefined();
  });

  test('when the server cannot be reached as the page loads, the sign-in alert says so once the form is on screen', async () => {
    const page = await open();
    await page.locator('#username').waitFor();
    await page.route('**/auth/me', (route) => route.abort('connectionrefused'));
    await page.addInitScript(watchLiveRegions);
    await page.reload();
    await page.getByRole('alert').filter({ hasText: 'Could not reach the server. Check your connection and try again.' }).waitFor();
    await expect(liveRegionsChangedUnseen(page)).resolves.toEqual([]);
    await expectAccessible(page, 'sign-in form, server unreachable');
    // Chromium reports the refused request on the console: that one is this test's doing.
    const { problems } = current();
    const refused = problems.filter((line) => line.includes('net::ERR_CONNECTION_REFUSED'));
    expect(refused.length).toBeLessThanOrEqual(1);
    problems.splice(0, problems.length, ...problems.filter((line) => !refused.includes(line)));
  });
});
