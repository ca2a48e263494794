import supertest from 'supertest';
import { STAND_IN_COST_USD } from '../src/dev/perf-stand-in';
import { PASSWORD, startHarness, TEST_KEY } from './helpers/harness';
import type { Harness } from './helpers/harness';
import { openStream } from './helpers/sse-client';
import { eventually, waitFor } from './helpers/wait';

describe('request logs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { LOG_LEVEL: 'debug' } });
  });
  afterAll(() => h.close());

  test('one JSON line per request with metadata, and never the key, a password, a session id or prompt text', async () => {
    const prompt = 'my-very-private-prompt-text-4242';
    await h.addUser('logger-user');
    const login = await supertest(h.url)
      .post('/auth/login')
      .set('X-Request-Id', 'router-id-12345678')
      .send({ username: 'logger-user', password: PASSWORD })
      .expect(200);
    const cookie = ((login.headers['set-cookie'] as unknown as string[])[0] ?? '').split(';')[0] ?? '';
    const sessionId =
      decodeURIComponent(cookie.split('=')[1] ?? '')
        .slice(2)
        .split('.')[0] ?? '';
    expect(sessionId.length).toBeGreaterThan(10);
    await supertest(h.url).post('/auth/login').send({ username: 'logger-user', password: 'wrong-password-777' }).expect(401);
    await supertest(h.url)
      .post('/api/chat')
      .set('Cookie', cookie)
      .set('Authorization', 'Bearer browser-token-999')
      .send({ message: prompt })
      .expect(200);
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: prompt, stream: true }).expect(200);
    h.standIn.enqueue({ status: 401 });
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: prompt }).expect(502);
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: prompt, bogus: prompt }).expect(400);
    await supertest(h.url).post('/auth/logout').set('Cookie', cookie).expect(204);

    const text = h.logs.text;
    for (const secret of [TEST_KEY, 'pk_test_', PASSWORD, 'wrong-password-777', prompt, sessionId, cookie, 'browser-token-999']) {
      expect(text).not.toContain(secret);
    }
    const lines = h.logs.parsed();
    const requests = lines.filter((l) => l.msg === 'request' || l.msg === 'request failed');
    expect(requests).toHaveLength(7);
    expect(requests[0]).toMatchObject({
      request_id: 'router-id-12345678',
      req: { method: 'POST', path: '/auth/login' },
      res: { status: 200 },
    });
    const chat = requests.find((l) => (l.req as { path: string }).path === '/api/chat');
    expect(chat).toMatchObject({
      user: expect.stringMatching(/^u_[0-9a-f]{16}$/) as string,
      res: { status: 200 },
      call: {
        stream: false,
        upstream_status: 200,
        model_used: 'stand-in-small',
        cost_usd: STAND_IN_COST_USD,
        settled: 'charge',
        tokens: expect.any(Number) as number,
      },
    });
    expect(typeof chat?.responseTime).toBe('number');
    expect(JSON.stringify(chat)).not.toContain('logger-user');
  });

  /** The request lines of /api/chat written so far. */
  const chatLines = (): Record<string, unknown>[] =>
    h.logs.parsed().filter((l) => (l.msg === 'request' || l.msg === 'request failed') && (l.req as { path: string }).path === '/api/chat');

  test('a stream the browser closes as soon as it has read [DONE] (as the chat page does): the line says how it was settled, and not aborted', async () => {
    const cookie = await h.sessionCookie();
    const before = chatLines().length;
    h.standIn.enqueue({ reply: 'short answer', streamCostUsd: 0.0004 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await waitFor(() => stream.events.at(-1)?.data === '[DONE]', 2000, '[DONE]');
    stream.req.destroy();
    await eventually(() => expect(chatLines()).toHaveLength(before + 1));
    const line = chatLines().at(-1);
    expect(line).toMatchObject({
      res: { status: 200 },
      call: { stream: true, settled: 'charge', cost_usd: 0.0004, outcome: 'answered', delivered: true },
    });
    expect(line?.aborted).toBeUndefined();
  });

  test('a stream the browser leaves midway: aborted, with its settlement (the cap kept: Perf may bill)', async () => {
    const cookie = await h.sessionCookie();
    const before = chatLines().length;
    h.standIn.enqueue({ reply: 'one two three four five six', chunkDelayMs: 200 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await waitFor(() => stream.events.length >= 2, 2000, 'two events');
    stream.req.destroy();
    await eventually(() => expect(chatLines()).toHaveLength(before + 1));
    expect(chatLines().at(-1)).toMatchObject({ aborted: true, call: { stream: true, settled: 'keep' } });
  });

  test('a JSON call the browser leaves while Perf works: aborted, with its settlement', async () => {
    const cookie = await h.sessionCookie();
    const before = chatLines().length;
    h.standIn.enqueue({ delayMs: 300 });
    const req = supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: 'x' }).timeout(100);
    await expect(req).rejects.toThrow();
    await eventually(() => expect(chatLines()).toHaveLength(before + 1));
    expect(chatLines().at(-1)).toMatchObject({ aborted: true, call: { stream: false, settled: 'keep', outcome: 'client_gone' } });
  });
});

describe('the request line waits for the settlement', () => {
  let h: Harness;
  beforeAll(async () => {
    // Settling takes a while here (a slow Redis), so a browser that leaves at [DONE] is surely gone first.
    h = await startHarness({
      mode: 'redis',
      storeOverrides: (stores) => ({
        admission: {
          admit: (r) => stores.admission.admit(r),
          hit: (w) => stores.admission.hit(w),
          status: (w, b) => stores.admission.status(w, b),
          settle: async (id, budgets, outcome) => {
            await new Promise((resolve) => setTimeout(resolve, 300));
            await stores.admission.settle(id, budgets, outcome);
          },
        },
      }),
    });
  });
  afterAll(() => h.close());

  test('a browser gone before the call settled still gets a line that says how it settled, once settled', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ reply: 'short', streamCostUsd: 0.0003 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await waitFor(() => stream.events.at(-1)?.data === '[DONE]', 2000, '[DONE]');
    stream.req.destroy();
    const chat = (): Record<string, unknown>[] =>
      h.logs.parsed().filter((l) => l.msg === 'request' && (l.req as { path: string }).path === '/api/chat');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(chat()).toHaveLength(0);
    await eventually(() => expect(chat()).toHaveLength(1));
    expect(chat()[0]).toMatchObject({ call: { settled: 'charge', cost_usd: 0.0003, delivered: true } });
    expect(chat()[0]?.aborted).toBeUndefined();
    // The answer's time, not the settlement's.
    expect(chat()[0]?.responseTime).toBeLessThan(300);
  });
});
