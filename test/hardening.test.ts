import supertest from 'supertest';
import { parseRetryAfter } from '../src/perf/client';
import { configWarnings, loadConfig } from '../src/config';
import { PerfStandIn } from '../src/dev/perf-stand-in';
import { sanitizedRetryAfter, MAX_RETRY_AFTER_SECONDS } from '../src/http/errors';
import { startHarness } from './helpers/harness';
import type { Harness } from './helpers/harness';
import { openStream } from './helpers/sse-client';
import { eventually, waitFor } from './helpers/wait';

/*
 * What an adversarial review found, each shown held: a reader that stops reading, an upstream that
 * sends our key back, absurd Retry-After values, a forged Host, and proxies trusted wrongly.
 */

describe('a browser that stops reading a stream', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      mode: 'redis',
      env: { STREAM_IDLE_TIMEOUT_MS: '500', RATE_LIMIT_REQUESTS: '1000', MAX_COST_PER_CALL: '0.01' },
    });
  });
  afterAll(() => h.close());

  test('is cut within STREAM_IDLE_TIMEOUT_MS + 1 s: the upstream call aborted, the reservation settled (cap kept)', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ paddingBytes: 64 * 1024 * 1024 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    await waitFor(() => stream.events.length > 0, 2000, 'a first chunk');
    stream.res.pause();
    const stoppedAt = Date.now();
    // The server gives up on the connection: the call to Perf is abandoned at once.
    await waitFor(() => h.standIn.aborted === 1, 2000, 'the upstream call to be aborted');
    expect(Date.now() - stoppedAt).toBeLessThan(500 + 1000);
    await eventually(async () => expect(await h.usage(cookie)).toMatchObject({ reserved_usd: 0, spent_usd: 0.01 }));
    await eventually(() => expect(h.logs.text).toContain('stream ended: the browser took nothing for STREAM_IDLE_TIMEOUT_MS'));
    // What the browser had not read is all it gets: the stream was cut, not finished.
    stream.res.resume();
    const raw = await stream.done;
    expect(raw).not.toContain('[DONE]');
  });

  test('a slow reader that keeps reading is not cut', async () => {
    const cookie = await h.sessionCookie();
    const abortedBefore = h.standIn.aborted;
    h.standIn.enqueue({ paddingBytes: 64 * 1024 * 1024 });
    const stream = await openStream(h.url, cookie, { message: 'x', stream: true });
    // Reads in bursts: 50 ms reading, then 300 ms paused (under STREAM_IDLE_TIMEOUT_MS), until the end.
    stream.res.pause();
    let pauses = 0;
    const reading = setInterval(() => {
      stream.res.resume();
      setTimeout(() => {
        stream.res.pause();
        pauses += 1;
      }, 50);
    }, 350);
    const raw = await stream.done.finally(() => clearInterval(reading));
    expect(pauses).toBeGreaterThan(3);
    expect(raw).toContain('data: [DONE]');
    expect(h.standIn.aborted).toBe(abortedBefore);
  });
});

describe('an upstream that sends our key back', () => {
  // A key of lowercase letters and underscores only: shaped like the error codes we log.
  const KEY = 'pk_test_only_lowercase_letters_and_underscores';
  let standIn: PerfStandIn & { baseUrl: string };
  let h: Harness;
  beforeAll(async () => {
    standIn = new PerfStandIn({ apiKeys: [KEY] }) as PerfStandIn & { baseUrl: string };
    standIn.baseUrl = await standIn.listen();
    h = await startHarness({
      mode: 'memory',
      standIn,
      env: { PERF_API_KEY: KEY, PERF_BASE_URL: standIn.baseUrl, RATE_LIMIT_REQUESTS: '1000' },
    });
  });
  afterAll(async () => {
    await h.close();
    await standIn.close();
  });

  test('in a JSON answer: the browser gets it redacted, the log neither', async () => {
    const agent = await h.signedIn();
    standIn.enqueue({ echoKey: 'reply' });
    const res = await agent.post('/api/chat').send({ message: 'hi' }).expect(200);
    expect(res.text).not.toContain(KEY);
    expect(res.body.choices[0].message.content).toBe('Your key is [redacted], by the way.');
    expect(h.logs.text).not.toContain(KEY);
    expect(h.logs.text).toContain('Perf sent our API key back');
  });

  test('in a stream, split across two network writes: redacted all the same', async () => {
    const cookie = await h.sessionCookie();
    standIn.enqueue({ echoKey: 'reply' });
    const stream = await openStream(h.url, cookie, { message: 'hi', stream: true });
    const raw = await stream.done;
    expect(raw).toContain('[redacted]');
    expect(raw).not.toContain(KEY);
    expect(raw).toContain('data: [DONE]');
    expect(h.logs.text).not.toContain(KEY);
  });

  test('every echo is counted in perf_bff_key_echoes_total and logged once, without the key', async () => {
    const echoes = async (): Promise<number> => (await h.composition.metrics.keyEchoes.get()).values[0]?.value ?? 0;
    const logged = (): number => h.logs.lines.filter((l) => l.includes('Perf sent our API key back')).length;
    const [countBefore, logsBefore] = [await echoes(), logged()];
    const agent = await h.signedIn();
    standIn.enqueue({ echoKey: 'reply' });
    await agent.post('/api/chat').send({ message: 'hi' }).expect(200);
    expect(await echoes()).toBe(countBefore + 1);
    expect(logged()).toBe(logsBefore + 1);
    expect(h.logs.text).not.toContain(KEY);
  });

  test('as an error code or a model name: never in the log, never to the browser', async () => {
    const agent = await h.signedIn();
    standIn.enqueue({ echoKey: 'code', status: 401 });
    const refused = await agent.post('/api/chat').send({ message: 'hi' }).expect(502);
    expect(refused.text).not.toContain(KEY);
    standIn.enqueue({ echoKey: 'model' });
    const answered = await agent.post('/api/chat').send({ message: 'hi' }).expect(200);
    expect(answered.text).not.toContain(KEY);
    await eventually(() => expect(h.logs.lines.filter((l) => l.includes('"model_used":"[redacted]"'))).toHaveLength(1));
    expect(h.logs.text).not.toContain(KEY);
    expect(h.logs.text).toContain('"upstream_code":"[redacted]"');
  });
});

describe('Retry-After, whatever Perf says', () => {
  test.each([
    ['30', 30],
    ['1e+23', 3600],
    ['-5', 1],
    ['0', 1],
    ['2.4', 3],
    ['soon', 1],
    ['', 1],
    [undefined, 1],
    ['99999999999999999999999', 3600],
  ])("Perf's %j becomes %d s", (given, seconds) => {
    expect(parseRetryAfter(given)).toBe(seconds);
  });

  test('an HTTP date counts from now, at most an hour', () => {
    const now = Date.UTC(2026, 10, 27, 12, 0, 0);
    expect(parseRetryAfter(new Date(now + 90_000).toUTCString(), now)).toBe(90);
    expect(parseRetryAfter(new Date(now + 86_400_000).toUTCString(), now)).toBe(3600);
  });

  test('every wait we send is a whole number between 1 and the documented maximum', () => {
    expect([0.2, -3, Number.NaN, Infinity, 1e23, 87_300.5].map(sanitizedRetryAfter)).toEqual([
      1,
      1,
      1,
      MAX_RETRY_AFTER_SECONDS,
      MAX_RETRY_AFTER_SECONDS,
      87_301,
    ]);
  });

  test('a 429 from Perf with Retry-After: 1e+23 reaches the browser as 3600', async () => {
    const h = await startHarness({ mode: 'memory', env: { UPSTREAM_TIMEOUT_MS: '2000' } });
    try {
      h.standIn.enqueue({ status: 429, retryAfterSeconds: 1e23 });
      const res = await (await h.signedIn()).post('/api/chat').send({ message: 'hi' }).expect(503);
      expect(res.headers['retry-after']).toBe('3600');
      expect(res.body.error).toMatchObject({ type: 'upstream_rate_limited', retry_after: 3600 });
    } finally {
      await h.close();
    }
  });
});

describe('our own origin in production', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { NODE_ENV: 'production', PUBLIC_URL: 'https://chat.example.com' } });
    await h.addUser('alice');
  });
  afterAll(() => h.close());

  const login = () =>
    supertest(h.url).post('/auth/login').set('X-Forwarded-Proto', 'https').send({ username: 'alice', password: 'nope-nope' });

  test('comes from PUBLIC_URL: a forged Host with a matching Origin is refused', async () => {
    const res = await login().set('Host', 'evil.example').set('Origin', 'https://evil.example').expect(403);
    expect(res.body.error.type).toBe('csrf_rejected');
  });

  test("our page (PUBLIC_URL's origin) passes, whatever Host the router passed on", async () => {
    await login().set('Host', 'internal.herokuapp.local').set('Origin', 'https://chat.example.com').expect(401);
  });
});

describe('TRUST_PROXY as it really is', () => {
  const PROD = {
    NODE_ENV: 'production',
    PERF_API_KEY: 'pk_test_abcdefgh12345678',
    SESSION_SECRET: 'a'.repeat(32),
    REDIS_URL: 'redis://h:6379',
  };

  test('on Heroku (DYNO set) with TRUST_PROXY=0, and in production without PUBLIC_URL, the start-up log says so', () => {
    const warnings = configWarnings(loadConfig({ ...PROD, TRUST_PROXY: '0' }), { ...PROD, TRUST_PROXY: '0', DYNO: 'web.1' });
    expect(warnings).toEqual([
      expect.stringMatching(/^TRUST_PROXY=0 on Heroku/) as string,
      expect.stringMatching(/^PUBLIC_URL is not set/) as string,
    ]);
    expect(configWarnings(loadConfig({ ...PROD, PUBLIC_URL: 'https://a.example' }), { ...PROD, DYNO: 'web.1' })).toEqual([]);
  });

  test('a trusted proxy hop with requests that carry no X-Forwarded-For: one warning, once', async () => {
    const h = await startHarness({ mode: 'memory', env: { TRUST_PROXY: '1' } });
    try {
      await supertest(h.url).get('/healthz').expect(200);
      await supertest(h.url).get('/healthz').expect(200);
      expect(h.logs.lines.filter((l) => l.includes('a request came without X-Forwarded-For'))).toHaveLength(1);
    } finally {
      await h.close();
    }
  });

  test('production over plain http (no TLS, no trusted X-Forwarded-Proto: https): the log says the cookie can never be kept, once', async () => {
    const h = await startHarness({ mode: 'redis', env: { NODE_ENV: 'production', PUBLIC_URL: 'https://chat.example.com' } });
    const plainHttp = (l: string): boolean => l.includes('plain http while NODE_ENV=production');
    try {
      await supertest(h.url).get('/healthz').set('X-Forwarded-For', '203.0.113.9').set('X-Forwarded-Proto', 'https').expect(200);
      expect(h.logs.lines.filter(plainHttp)).toHaveLength(0);
      const res = await supertest(h.url).post('/auth/login').set('X-Forwarded-For', '203.0.113.9').send({ username: 'x', password: 'y' });
      expect(res.headers['set-cookie']).toBeUndefined();
      await supertest(h.url).get('/healthz').set('X-Forwarded-For', '203.0.113.9').expect(200);
      expect(h.logs.lines.filter(plainHttp)).toHaveLength(1);
      expect(h.logs.lines.find(plainHttp)).toContain('set TRUST_PROXY');
    } finally {
      await h.close();
    }
  });
});
