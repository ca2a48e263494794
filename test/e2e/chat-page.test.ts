import { axFacts, expectAccessible, liveRegionsChangedUnseen, watchLiveRegions } from './a11y';
import {
  activeElementId,
  eventually,
  foreignRequests,
  lastAnswer,
  lastAnswerText,
  send,
  shot,
  signIn,
  waitForAnswer,
} from './browser-harness';
import { usePageSite, words } from './page-site';

jest.setTimeout(60_000);

const { site: running, open, current } = usePageSite({ RATE_LIMIT_REQUESTS: '50' });

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
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor()).resolves.toBeUndefined();
    await expect(page.locator('#chat').isHidden()).resolves.toBe(true);
    expect(await activeElementId(page)).toBe('password');
    await expectAccessible(page, 'sign-in form, wrong password');
  });

  test('when the form is sent empty, the alert (rendered all along) says what is missing', async () => {
    const page = await open();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
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
    running().standIn.enqueue({ reply, chunkDelayMs: 120 });
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
    // The server's line for that stream says how it was settled (the page closes the stream at [DONE]).
    const chatLine = running()
      .logs.parsed()
      .find((l) => l.msg === 'request' && (l.req as { path: string }).path === '/api/chat');
    expect(chatLine).toMatchObject({ res: { status: 200 }, call: { stream: true, settled: 'keep', outcome: 'answered', delivered: true } });
    expect(chatLine?.aborted).toBeUndefined();
  });

  test('when a second message is sent, the whole conversation kept in the page goes along', async () => {
    const page = await open();
    await signIn(page);
    running().standIn.enqueue({ reply: 'First answer.', chunkDelayMs: 0 }, { reply: 'Second answer.', chunkDelayMs: 0 });
    await send(page, 'first question');
    await waitForAnswer(page);
    await send(page, 'second question');
    await expect(waitForAnswer(page)).resolves.toBe('Second answer.');
    const upstream = running().standIn.requests.map((r) => r.body as { messages: { role: string; content: string }[] });
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
    expect(running().standIn.requests).toHaveLength(0);
    await input.press('Enter');
    await waitForAnswer(page);
    await expect(page.locator('#log .message-user .message-text').last().textContent()).resolves.toBe('line one\nline two');
    await expect(input.inputValue()).resolves.toBe('');
  });

  test('when Stop is pressed during an answer, the stream ends, the text stops growing and the upstream call is abandoned', async () => {
    const page = await open();
    await signIn(page);
    const reply = words(60);
    running().standIn.enqueue({ reply, chunkDelayMs: 150 });
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
    expect(await eventually(() => running().standIn.aborted >= 1)).toBe(true);
    await shot(page, '05-stopped');
  });

  test('when the answer contains HTML, it is shown as text and nothing in it runs or loads', async () => {
    const page = await open();
    await signIn(page);
    const reply = '<img src=x onerror="document.title=\'pwned\'"> <script>window.pwned=1</script> <b>bold</b> & done';
    running().standIn.enqueue({ reply, chunkDelayMs: 0 });
    await send(page, 'show me some html');
    await expect(waitForAnswer(page)).resolves.toBe(reply);
    await expect(page.locator('#log img, #log script, #log b').count()).resolves.toBe(0);
    await expect(page.title()).resolves.not.toBe('pwned');
    await expect(page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).resolves.toBeUndefined();
    expect(current().requests.filter((url) => new URL(url).pathname === '/x')).toEqual([]);
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

  test('on a phone-width screen, everything fits without sideways scrolling', async () => {
    const page = await open({ width: 375, height: 740 });
    await page.locator('#username').waitFor();
    await expectAccessible(page, 'phone width, sign-in form');
    await signIn(page);
    running().standIn.enqueue({ reply: `${words(40, 'supercalifragilistic')} ${'x'.repeat(120)}`, chunkDelayMs: 0 });
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
    // From the message box (focused after sign-in), back past Sign out and Change password: nothing comes before it.
    expect(await activeElementId(page)).toBe('composer-input');
    await page.keyboard.press('Shift+Tab');
    expect(await activeElementId(page)).toBe('sign-out');
    await page.keyboard.press('Shift+Tab');
    expect(await activeElementId(page)).toBe('change-password');
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
    expect(foreignRequests(current(), running().origin)).toEqual([]);
  });
});
