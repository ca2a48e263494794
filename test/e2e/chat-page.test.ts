import type { Page } from 'playwright-core';
import { axFacts, expectAccessible, liveRegionsChangedUnseen, watchLiveRegions } from './a11y';
import {
  activeElementId,
  eventually,
  foreignRequests,
  lastAnswer,
  lastAnswerText,
  openPage,
  send,
  shot,
  signIn,
  startSite,
  waitForAnswer,
} from './browser-harness';
import type { Site, Watched } from './browser-harness';

jest.setTimeout(60_000);

let site: Site;
let watched: Watched | undefined;

beforeAll(async () => {
  site = await startSite({ RATE_LIMIT_REQUESTS: '50' });
});

afterAll(async () => {
  await site.close();
});

beforeEach(() => {
  site.standIn.reset();
});

/** Every test opens its own page; afterwards the page must have stayed on our origin and quiet. */
async function open(viewport?: { width: number; height: number }): Promise<Page> {
  watched = await openPage(site, viewport);
  return watched.page;
}

function current(): Watched {
  if (watched === undefined) throw new Error('open() a page first');
  return watched;
}

afterEach(async () => {
  if (watched === undefined) return;
  const { problems, context } = watched;
  const foreign = foreignRequests(watched, site.origin);
  watched = undefined;
  await context.close();
  expect(foreign).toEqual([]);
  expect(problems).toEqual([]);
});

const words = (n: number, word = 'word'): string => Array.from({ length: n }, (_, i) => `${word}${i + 1}`).join(' ');

describe('the chat page', () => {
  test('when opened signed out, shows a labelled sign-in form with the username field focused', async () => {
    const page = await open();
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await expect(page.locator('#chat').isHidden()).resolves.toBe(true);
    expect(await activeElementId(page)).toBe('username');
    await shot(page, '01-sign-in');
    await expectAccessible(page, 'sign-in form, empty');
  });

  test('when the password is wrong, says so and keeps the person on the form', async () => {
    const page = await open();
    await page.getByLabel('Username').fill('demo');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor()).resolves.toBeUndefined();
    await expect(page.locator('#chat').isHidden()).resolves.toBe(true);
    expect(await activeElementId(page)).toBe('password');
    await expectAccessible(page, 'sign-in form, wrong password');
  });

  test('when the form is sent empty, the alert (rendered all along) says what is missing', async () => {
    const page = await open();
    await page.evaluate(watchLiveRegions);
    await expect(axFacts(page, '#sign-in-error')).resolves.toEqual({ inTree: true, role: 'alert', name: '', description: '' });
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Enter your username and password.' }).waitFor();
    expect(await activeElementId(page)).toBe('username');
    await expectAccessible(page, 'sign-in form, nothing entered');
    await expect(liveRegionsChangedUnseen(page)).resolves.toEqual([]);
  });

  test('when signed in and a message is sent, the answer streams in, growing in several steps, and the status line counts down', async () => {
    const page = await open();
    await signIn(page);
    expect(await activeElementId(page)).toBe('composer-input');
    // Usage arrives just after sign-in.
    await page.locator('#status', { hasText: 'requests left' }).waitFor();
    const statusLine = /^(\d+) of 50 requests left · \$(\d\.\d\d) of \$1\.00 budget left$/;
    const before = statusLine.exec((await page.locator('#status').textContent()) ?? '');
    expect(before).not.toBeNull();
    const [requestsBefore, budgetBefore] = [Number(before?.[1]), Number(before?.[2])];
    await shot(page, '02-signed-in');
    await expectAccessible(page, 'chat, empty');

    const reply = words(16);
    site.standIn.enqueue({ reply, chunkDelayMs: 120 });
    await send(page, 'Tell me sixteen words');
    await expect(page.locator('#log .message-user .message-text').last().textContent()).resolves.toBe('Tell me sixteen words');
    await expect(page.locator('#stop').isVisible()).resolves.toBe(true);

    // Two states seen on screen while the answer is still being written.
    const grownFrom = async (before: string): Promise<string> => {
      const handle = await page.waitForFunction(
        ([prev, full]) => {
          const nodes = document.querySelectorAll('#log .message-assistant .message-text');
          const text = nodes[nodes.length - 1]?.textContent ?? '';
          return text.length > prev.length && text.trim() !== full ? text : false;
        },
        [before, reply] as const,
        { polling: 'raf', timeout: 10_000 },
      );
      return (await handle.jsonValue()) as string;
    };
    const first = await grownFrom('');
    const second = await grownFrom(first);
    await shot(page, '03-streaming');
    const final = await waitForAnswer(page);

    expect(second.startsWith(first)).toBe(true);
    expect(final.startsWith(second)).toBe(true);
    expect(first.length).toBeLessThan(second.length);
    expect(second.length).toBeLessThan(final.length);
    expect(final).toBe(reply);
    await expect(page.locator('#stop').isHidden()).resolves.toBe(true);
    await expect(page.locator('#send').isEnabled()).resolves.toBe(true);
    await expect(page.locator('#log').getAttribute('aria-live')).resolves.toBe('polite');
    await expect(page.locator('#log').getAttribute('aria-busy')).resolves.toBe('false');
    // Usage is refreshed after the answer: one request used, the stream's cap reserved.
    const after = `${requestsBefore - 1} of 50 requests left · $${(budgetBefore - 0.01).toFixed(2)} of $1.00 budget left`;
    await expect(page.locator('#status', { hasText: after }).waitFor()).resolves.toBeUndefined();
    await shot(page, '04-answered');
    await expectAccessible(page, 'chat, streamed answer done');
  });

  test('when a second message is sent, the whole conversation kept in the page goes along', async () => {
    const page = await open();
    await signIn(page);
    site.standIn.enqueue({ reply: 'First answer.', chunkDelayMs: 0 }, { reply: 'Second answer.', chunkDelayMs: 0 });
    await send(page, 'first question');
    await waitForAnswer(page);
    await send(page, 'second question');
    await expect(waitForAnswer(page)).resolves.toBe('Second answer.');
    const upstream = site.standIn.requests.map((r) => r.body as { messages: { role: string; content: string }[] });
    expect(upstream[1]?.messages).toEqual([
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'First answer.' },
      { role: 'user', content: 'second question' },
    ]);
  });

  test('when Shift+Enter is pressed, the composer gets a new line and nothing is sent; Enter then sends both lines', async () => {
    const page = await open();
    await signIn(page);
    const input = page.locator('#composer-input');
    await input.pressSequentially('line one');
    await input.press('Shift+Enter');
    await input.pressSequentially('line two');
    await expect(input.inputValue()).resolves.toBe('line one\nline two');
    expect(site.standIn.requests).toHaveLength(0);
    await input.press('Enter');
    await waitForAnswer(page);
    await expect(page.locator('#log .message-user .message-text').last().textContent()).resolves.toBe('line one\nline two');
    await expect(input.inputValue()).resolves.toBe('');
  });

  test('when Stop is pressed during an answer, the stream ends, the text stops growing and the upstream call is abandoned', async () => {
    const page = await open();
    await signIn(page);
    const reply = words(60);
    site.standIn.enqueue({ reply, chunkDelayMs: 150 });
    await send(page, 'a long one please');
    await page.waitForFunction(() => (document.querySelector('#log .message-assistant .message-text')?.textContent ?? '').length > 10);
    await page.getByRole('button', { name: 'Stop' }).click();

    const stopped = await waitForAnswer(page, 'stopped');
    await expect(lastAnswer(page).locator('.message-meta').textContent()).resolves.toBe('Stopped.');
    expect(reply.startsWith(stopped)).toBe(true);
    expect(stopped.length).toBeLessThan(reply.length);
    await page.waitForTimeout(600);
    await expect(lastAnswerText(page)).resolves.toBe(stopped);
    await expect(page.locator('#stop').isHidden()).resolves.toBe(true);
    await expect(page.locator('#send').isEnabled()).resolves.toBe(true);
    expect(await activeElementId(page)).toBe('composer-input');
    // The server noticed the browser left and hung up on Perf too.
    expect(await eventually(() => site.standIn.aborted >= 1)).toBe(true);
    await shot(page, '05-stopped');
  });

  test('when the answer contains HTML, it is shown as text and nothing in it runs or loads', async () => {
    const page = await open();
    await signIn(page);
    const reply = '<img src=x onerror="document.title=\'pwned\'"> <script>window.pwned=1</script> <b>bold</b> & done';
    site.standIn.enqueue({ reply, chunkDelayMs: 0 });
    await send(page, 'show me some html');
    await expect(waitForAnswer(page)).resolves.toBe(reply);
    await expect(page.locator('#log img, #log script, #log b').count()).resolves.toBe(0);
    await expect(page.title()).resolves.not.toBe('pwned');
    await expect(page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).resolves.toBeUndefined();
    expect(watched?.requests.filter((url) => new URL(url).pathname === '/x')).toEqual([]);
    await shot(page, '06-html-as-text');
  });

  test('when signed in, the session cookie exists but page script cannot read it', async () => {
    const page = await open();
    await signIn(page);
    const cookies = await current().context.cookies();
    const session = cookies.find((c) => c.name === 'perf-bff.sid');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    const visible = await page.evaluate(() => document.cookie);
    expect(visible).not.toContain('perf-bff.sid');
    expect(session?.value.length).toBeGreaterThan(10);
    expect(visible).not.toContain(session?.value);
  });

  test('when Perf fails (5xx), says so with a Retry button, keeps the message, and Retry sends it again', async () => {
    const page = await open();
    current().expectStatuses.add(502);
    await signIn(page);
    await page.evaluate(watchLiveRegions);
    // The notice's alert is in the accessibility tree, empty, before it has anything to say.
    await expect(axFacts(page, '#notice-text')).resolves.toEqual({ inTree: true, role: 'alert', name: '', description: '' });
    // The server retries Perf twice before giving up: three failures make one 502.
    site.standIn.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
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

    site.standIn.enqueue({ reply: 'Worked this time.', chunkDelayMs: 0 });
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
    site.standIn.enqueue({ reply: words(10), chunkDelayMs: 20, failAfterChunks: 4 });
    await send(page, 'break please');
    await waitForAnswer(page, 'error');
    await expect(lastAnswer(page).locator('.message-meta').textContent()).resolves.toBe('The answer broke off.');
    await page.locator('#notice', { hasText: 'The answer broke off' }).waitFor();
    await expectAccessible(page, 'answer broken off, with Retry');
    site.standIn.enqueue({ reply: 'Complete now.', chunkDelayMs: 0 });
    await page.getByRole('button', { name: 'Retry' }).click();
    await expect(waitForAnswer(page)).resolves.toBe('Complete now.');
    await expect(page.locator('#log .message-assistant').count()).resolves.toBe(1);
    const last = site.standIn.requests.at(-1)?.body as { messages: { role: string }[] };
    expect(last.messages.map((m) => m.role)).toEqual(['user']);
  });

  test('when the session has ended, sending goes back to sign-in and the typed text survives signing in again', async () => {
    const page = await open();
    await signIn(page);
    site.standIn.enqueue({ reply: 'Before expiry.', chunkDelayMs: 0 });
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

    await page.getByLabel('Password').fill('demo');
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
    site.standIn.enqueue({ reply: 'Something private.', chunkDelayMs: 0 });
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

  test('on a phone-width screen, everything fits without sideways scrolling', async () => {
    const page = await open({ width: 375, height: 740 });
    await page.locator('#username').waitFor();
    await expectAccessible(page, 'phone width, sign-in form');
    await signIn(page);
    site.standIn.enqueue({ reply: `${words(40, 'supercalifragilistic')} ${'x'.repeat(120)}`, chunkDelayMs: 0 });
    await send(page, 'a long reply with a very long word');
    await waitForAnswer(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await expect(page.locator('#send').isVisible()).resolves.toBe(true);
    await shot(page, '10-phone');
    await expectAccessible(page, 'phone width, answered');
  });

  test('the skip link is offered only with the chat: not on the sign-in form, where the message box is hidden; in the chat, it is the first Tab stop and leads to the message box', async () => {
    const page = await open();
    await page.locator('#username').waitFor();
    await expect(page.locator('#skip-link').isHidden()).resolves.toBe(true);
    await expect(page.getByRole('link', { name: 'Skip to the message box' }).count()).resolves.toBe(0);
    await signIn(page);
    const skip = page.getByRole('link', { name: 'Skip to the message box' });
    await expect(skip.getAttribute('href')).resolves.toBe('#composer-input');
    // From the message box (focused after sign-in), back past Sign out: nothing comes before it.
    expect(await activeElementId(page)).toBe('composer-input');
    await page.keyboard.press('Shift+Tab');
    expect(await activeElementId(page)).toBe('sign-out');
    await page.keyboard.press('Shift+Tab');
    expect(await activeElementId(page)).toBe('skip-link');
    await expect(skip.isVisible()).resolves.toBe(true);
    await page.keyboard.press('Enter');
    expect(await activeElementId(page)).toBe('composer-input');
    // Signed out again, the link goes with the chat.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    await expect(page.locator('#skip-link').isHidden()).resolves.toBe(true);
    await expectAccessible(page, 'sign-in form, signed out');
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

  test('loads only its own files and asks only its own origin, from sign-in to sign-out', async () => {
    const page = await open();
    await signIn(page);
    // The stand-in's default answer, as `npm start` shows it: this is the README's screenshot.
    await send(page, 'What does this page do with my messages?');
    await expect(waitForAnswer(page)).resolves.toContain('You wrote 40 characters');
    await shot(page, '00-readme');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    const paths = current().requests.map((url) => new URL(url).pathname);
    expect(paths).toEqual(
      expect.arrayContaining(['/', '/app.js', '/style.css', '/auth/me', '/auth/login', '/api/chat', '/api/usage', '/auth/logout']),
    );
    expect(foreignRequests(current(), site.origin)).toEqual([]);
  });
});
