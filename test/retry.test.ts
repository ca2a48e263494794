import supertest from 'supertest';
import { startHarness } from './helpers/harness';
import type { Harness } from './helpers/harness';
import { openStream } from './helpers/sse-client';

describe('retries to Perf', () => {
  let h: Harness;
  let cookie: string;
  const chat = (body: object = { message: 'hi' }) => supertest(h.url).post('/api/chat').set('Cookie', cookie).send(body);
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { RATE_LIMIT_REQUESTS: '1000', UPSTREAM_TIMEOUT_MS: '3000' } });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    h.standIn.reset();
    cookie = await h.sessionCookie();
  });

  test('a 5xx is retried, and the browser request is charged once', async () => {
    h.standIn.enqueue({ status: 500 }, { costUsd: 0.0004 });
    await chat().expect(200);
    expect(h.standIn.requests).toHaveLength(2);
    expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0.0004, reserved_usd: 0 });
  });

  test('at most 2 retries: three 5xx answers end in 502 after exactly 3 attempts', async () => {
    h.standIn.enqueue({ status: 502 }, { status: 503 }, { status: 500 }, {});
    await chat().expect(502);
    expect(h.standIn.requests).toHaveLength(3);
  });

  test('a connection dropped before any answer is retried', async () => {
    h.standIn.enqueue({ dropConnection: true }, {});
    await chat().expect(200);
    expect(h.standIn.requests).toHaveLength(2);
  });

  test('a 429 with a short Retry-After (1 s) is waited out and retried', async () => {
    h.standIn.enqueue({ status: 429, retryAfterSeconds: 1 }, {});
    const started = Date.now();
    await chat().expect(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(h.standIn.requests).toHaveLength(2);
  });

  test('a 429 with a Retry-After over 2 s is not retried', async () => {
    h.standIn.enqueue({ status: 429, retryAfterSeconds: 3 }, {});
    await chat().expect(503);
    expect(h.standIn.requests).toHaveLength(1);
  });

  test.each([400, 401, 403, 404, 422])('a %i is never retried', async (status) => {
    h.standIn.enqueue({ status }, {});
    await chat();
    expect(h.standIn.requests).toHaveLength(1);
  });

  test('a stream that fails before its first byte is retried; the relay then streams normally', async () => {
    h.standIn.enqueue({ status: 503 }, { reply: 'after retry' });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await stream.done;
    expect(stream.res.statusCode).toBe(200);
    expect(stream.events.at(-1)?.data).toBe('[DONE]');
    expect(h.standIn.requests.map((r) => r.path)).toEqual(['/v1/chat/stream', '/v1/chat/stream']);
  });

  test('a stream that breaks after its first byte is never retried', async () => {
    h.standIn.enqueue({ reply: 'a b c d e', failAfterChunks: 2, chunkDelayMs: 30 }, {});
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await stream.done;
    expect(stream.res.statusCode).toBe(200);
    expect(h.standIn.requests).toHaveLength(1);
  });
});

describe('retries stay inside UPSTREAM_TIMEOUT_MS', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'memory', env: { UPSTREAM_TIMEOUT_MS: '1000' } });
  });
  afterAll(() => h.close());

  test('slow failures stop retrying when the deadline comes, and the browser hears back within it', async () => {
    h.standIn.setDefaults({ status: 500, delayMs: 400 });
    const agent = await h.signedIn();
    const started = Date.now();
    const res = await agent.post('/api/chat').send({ message: 'hi' });
    const elapsed = Date.now() - started;
    h.standIn.setDefaults({});
    expect([502, 504]).toContain(res.status);
    // Three 400 ms failures with their backoffs would take longer than the 1 s deadline.
    expect(elapsed).toBeLessThan(1000 + 750);
    expect(h.standIn.requests.length).toBeLessThanOrEqual(3);
    expect(res.status).toBe(h.standIn.requests.length === 3 ? 504 : 502);
  });
});
