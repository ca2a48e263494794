import { activeElementId, foreignRequests, openPage, send, shot, signIn, startSite, waitForAnswer } from './browser-harness';
import type { Site, Watched } from './browser-harness';
import { axFacts, expectAccessible } from './a11y';
import type { Page } from 'playwright-core';

jest.setTimeout(60_000);

/**
 * What changes on screen during `ms` while a countdown runs: the texts the timer showed in turn
 * (its first text included), and how many times Send's text or label was touched.
 */
async function watchCountdown(page: Page, ms: number): Promise<{ timer: string[]; sendChanges: number }> {
  return page.evaluate(async (wait) => {
    const timer = document.getElementById('countdown');
    const send = document.getElementById('send');
    if (timer === null || send === null) throw new Error('no #countdown or #send');
    const texts = [timer.textContent];
    let sendChanges = 0;
    const onTimer = new MutationObserver(() => texts.push(timer.textContent));
    onTimer.observe(timer, { childList: true, characterData: true, subtree: true });
    const onSend = new MutationObserver((records) => (sendChanges += records.length));
    onSend.observe(send, {
      childList: true,
      characterData: true,
      subtree: true,
      attributeFilter: ['aria-label', 'aria-labelledby', 'aria-describedby', 'title'],
    });
    await new Promise((resolve) => setTimeout(resolve, wait));
    onTimer.disconnect();
    onSend.disconnect();
    return { timer: texts, sendChanges };
  }, ms);
}

async function quietAndLocal(watched: Watched, site: Site): Promise<void> {
  const foreign = foreignRequests(watched, site.origin);
  await watched.context.close();
  expect(foreign).toEqual([]);
  expect(watched.problems).toEqual([]);
}

describe('when the rate limit is reached', () => {
  let site: Site;
  beforeAll(async () => {
    site = await startSite({ RATE_LIMIT_REQUESTS: '2', RATE_LIMIT_WINDOW_SECONDS: '4' });
  });
  afterAll(async () => {
    await site.close();
  });

  test('shows a countdown from retry_after with Send paused, then Send comes back and the kept message goes through', async () => {
    const watched = await openPage(site);
    watched.expectStatuses.add(429);
    const { page } = watched;
    await signIn(page);
    await page.locator('#status', { hasText: /^2 of 2 requests left/ }).waitFor();
    for (const text of ['one', 'two']) {
      site.standIn.enqueue({ reply: `answer ${text}`, chunkDelayMs: 0 });
      await send(page, text);
      await expect(waitForAnswer(page)).resolves.toBe(`answer ${text}`);
    }
    await page.locator('#status', { hasText: 'No requests left until' }).waitFor();

    await send(page, 'three is too many');
    const notice = page.locator('#notice');
    await notice.filter({ hasText: 'You have sent as many messages as allowed for now.' }).waitFor();
    const countdown = page.locator('#countdown');
    await expect(countdown.getAttribute('role')).resolves.toBe('timer');
    await expect(countdown.textContent()).resolves.toMatch(/^[1-4] s left$/);
    await expect(page.locator('#send').isDisabled()).resolves.toBe(true);
    // Send keeps its name while paused: the seconds are the timer's to show (aria-live off).
    await expect(page.locator('#send').textContent()).resolves.toBe('Send');
    await expect(axFacts(page, '#send')).resolves.toMatchObject({ role: 'button', name: 'Send' });
    await expect(page.locator('#composer-input').inputValue()).resolves.toBe('three is too many');
    expect(site.standIn.requests).toHaveLength(2);
    await shot(page, '11-rate-limited');

    // Enter while paused sends nothing.
    await page.locator('#composer-input').press('Enter');
    expect(site.standIn.requests).toHaveLength(2);

    // The timer ticks four times a second but its text changes only when the number does, and
    // Send's text is never touched (the countdown may end meanwhile: '' is then its last text).
    const seen = await watchCountdown(page, 1200);
    expect(seen.timer.filter((text, i) => i > 0 && text === seen.timer[i - 1])).toEqual([]);
    expect(seen.timer.length).toBeLessThanOrEqual(4);
    expect(seen.sendChanges).toBe(0);

    // The countdown runs out: the send button is back and the person is told so.
    await notice.filter({ hasText: 'You can send again.' }).waitFor({ timeout: 8000 });
    await expect(page.locator('#send').isEnabled()).resolves.toBe(true);
    await expect(page.locator('#send').textContent()).resolves.toBe('Send');
    await expect(countdown.isHidden()).resolves.toBe(true);
    expect(await activeElementId(page)).toBe('composer-input');

    site.standIn.enqueue({ reply: 'answer three', chunkDelayMs: 0 });
    await page.locator('#composer-input').press('Enter');
    await expect(waitForAnswer(page)).resolves.toBe('answer three');
    await quietAndLocal(watched, site);
  });
});

describe('when the spend budget is used up', () => {
  let site: Site;
  beforeAll(async () => {
    // A stream's cost is unknown, so its whole cap stays charged: one call uses the whole budget.
    site = await startSite({ MAX_COST_PER_CALL: '0.01', DAILY_BUDGET_USD: '0.01' });
  });
  afterAll(async () => {
    await site.close();
  });

  test('says the budget is used up and counts down to its reset, with Send paused', async () => {
    const watched = await openPage(site);
    watched.expectStatuses.add(429);
    const { page } = watched;
    await signIn(page);
    await page.locator('#status', { hasText: /\$0\.01 of \$0\.01 budget left$/ }).waitFor();
    await send(page, 'spend it all');
    await waitForAnswer(page);
    await page.locator('#status', { hasText: '$0.00 of $0.01 budget left' }).waitFor();

    await send(page, 'one more');
    await page.locator('#notice', { hasText: 'Your spending budget is used up for now.' }).waitFor();
    await expect(page.locator('#countdown').textContent()).resolves.toMatch(/^\d+ h \d{2} min left$/);
    await expect(page.locator('#send').isDisabled()).resolves.toBe(true);
    await expect(page.locator('#composer-input').inputValue()).resolves.toBe('one more');
    expect(site.standIn.requests).toHaveLength(1);
    await shot(page, '12-budget-exceeded');
    await expectAccessible(page, 'budget countdown');

    // Over a second and a half (six ticks), a timer that shows minutes is not rewritten at all,
    // and Send's name is never touched: a screen reader has nothing to re-announce.
    const seen = await watchCountdown(page, 1500);
    expect(seen.timer).toHaveLength(1);
    expect(seen.timer[0]).toMatch(/^\d+ h \d{2} min left$/);
    expect(seen.sendChanges).toBe(0);
    await expect(page.locator('#send').textContent()).resolves.toBe('Send');
    await expect(axFacts(page, '#send')).resolves.toMatchObject({ role: 'button', name: 'Send' });
    await expect(axFacts(page, '#countdown')).resolves.toMatchObject({ inTree: true, role: 'timer' });
    await expect(page.locator('#countdown').getAttribute('aria-live')).resolves.toBe('off');
    await quietAndLocal(watched, site);
  });
});
