import supertest from 'supertest';
import { createLogger } from '../src/infra/logger';
import { GLOBAL_BUDGET_ID } from '../src/limits/entitlement';
import { DAY_WINDOW } from '../src/limits/ledger-window';
import { RedisAdmissionStore } from '../src/stores/redis-admission';
import { createStoreClient } from '../src/stores/redis-client';
import { modes, sharedStandIn, startHarness } from './helpers/harness';
import type { Harness } from './helpers/harness';
import { openStream } from './helpers/sse-client';
import { eventually, waitFor } from './helpers/wait';

const chat = (h: Harness, cookie: string, body: object) => supertest(h.url).post('/api/chat').set('Cookie', cookie).send(body);

describe.each(modes())('spend budget and settling (%s stores)', (mode) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      mode,
      env: { MAX_COST_PER_CALL: '0.01', DAILY_BUDGET_USD: '0.05', UPSTREAM_TIMEOUT_MS: '600', RATE_LIMIT_REQUESTS: '1000' },
    });
  });
  afterAll(() => h.close());
  beforeEach(() => h.standIn.reset());

  test('GET /api/usage reports the rate limit and the budget', async () => {
    const cookie = await h.sessionCookie();
    const res = await supertest(h.url).get('/api/usage').set('Cookie', cookie).expect(200);
    expect(res.body).toEqual({
      plan: 'default',
      rate_limit: { limit: 1000, remaining: 1000, reset: expect.any(Number) as number },
      budget: { limit_usd: 0.05, spent_usd: 0, reserved_usd: 0, remaining_usd: 0.05, reset: null },
      today: { day: new Date().toISOString().slice(0, 10), calls: 0, reported_usd: 0, estimated_usd: 0, cap_kept_usd: 0 },
    });
    expect(res.headers['x-ratelimit-limit']).toBe('1000');
  });

  test('cost reported: exactly that is charged', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ costUsd: 0.000123 });
    await chat(h, cookie, { message: 'hi' }).expect(200);
    expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0.000123, reserved_usd: 0, remaining_usd: 0.049877 });
  });

  test('cost above the cap: the whole reported cost is charged', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ costUsd: 0.013 });
    await chat(h, cookie, { message: 'hi' }).expect(200);
    expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0.013, reserved_usd: 0 });
  });

  test('cost missing from a JSON answer: the reservation is kept', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ costUsd: null });
    await chat(h, cookie, { message: 'hi' }).expect(200);
    expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0.01, reserved_usd: 0 });
  });

  test('a stream without a cost: the reservation (the cap sent) is kept', async () => {
    const cookie = await h.sessionCookie();
    await chat(h, cookie, { message: 'hi', stream: true, max_cost_per_call: 0.004 }).expect(200);
    expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0.004, reserved_usd: 0 });
  });

  test('a stream whose final chunk reports a cost: that cost is charged', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ streamCostUsd: 0.0007 });
    const res = await chat(h, cookie, { message: 'hi', stream: true }).expect(200);
    expect(res.text).toContain('"cost_usd":0.0007');
    expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0.0007, reserved_usd: 0 });
  });

  test('Perf 5xx on every attempt: everything is released', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    await chat(h, cookie, { message: 'hi' }).expect(502);
    expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0, reserved_usd: 0, remaining_usd: 0.05 });
  });

  test('Perf timing out with the request in hand: the reservation is kept (Perf may still finish and bill)', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ hang: true });
    await chat(h, cookie, { message: 'hi' }).expect(504);
    expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0.01, reserved_usd: 0 });
  });

  test('Perf dropping the connection after taking the request, on every attempt: the reservation is kept', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ dropConnection: true }, { dropConnection: true }, { dropConnection: true });
    await chat(h, cookie, { message: 'hi' }).expect(502);
    expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0.01, reserved_usd: 0 });
  });

  test('explicit failures after an ambiguous attempt: what the ambiguous attempt may have cost stays charged', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ dropConnection: true }, { status: 500 }, { status: 503 });
    await chat(h, cookie, { message: 'hi' }).expect(502);
    expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0.01, reserved_usd: 0 });
  });

  test('the client leaving a JSON call: the upstream call is aborted and the reservation kept', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ hang: true });
    const controller = new AbortController();
    const pending = fetch(`${h.url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ message: 'hi' }),
      signal: controller.signal,
    }).catch(() => undefined);
    await waitFor(() => h.standIn.requests.length === 1, 2000);
    controller.abort();
    await pending;
    const elapsed = await waitFor(() => h.standIn.aborted === 1, 1000);
    expect(elapsed).toBeLessThan(1000);
    await eventually(async () => expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0.01, reserved_usd: 0 }));
  });

  test('the client leaving mid-stream: the upstream stream closes within 1 s and the reservation is kept', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ reply: 'one two three four five six seven eight nine ten', chunkDelayMs: 200 });
    const stream = await openStream(h.url, cookie, { message: 'hi', stream: true });
    await waitFor(() => stream.events.length >= 2, 2000);
    const closedAt = Date.now();
    stream.req.destroy();
    await waitFor(() => h.standIn.aborted === 1, 1000);
    expect(Date.now() - closedAt).toBeLessThan(1000);
    await eventually(async () => expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0.01, reserved_usd: 0 }));
  });

  test('when the cap does not fit the budget left: 429 budget_exceeded with Retry-After, and no upstream call', async () => {
    const cookie = await h.sessionCookie();
    h.standIn.enqueue({ costUsd: 0.045 });
    await chat(h, cookie, { message: 'hi' }).expect(200);
    const refused = await chat(h, cookie, { message: 'hi' }).expect(429);
    expect(refused.body.error.type).toBe('budget_exceeded');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(23 * 3600);
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600 + 15 * 60);
    expect(refused.body.error.retry_after).toBe(retryAfter);
    expect(refused.headers['x-ratelimit-remaining']).toBe('998');
    expect(h.standIn.requests).toHaveLength(1);
    // A smaller cap still fits in what is left.
    await chat(h, cookie, { message: 'hi', max_cost_per_call: 0.005 }).expect(200);
  });
});

describe('budget under concurrency, two instances on one Redis', () => {
  let a: Harness;
  let b: Harness;
  let standIn: Awaited<ReturnType<typeof sharedStandIn>>;
  beforeAll(async () => {
    standIn = await sharedStandIn();
    const env = { MAX_COST_PER_CALL: '0.01', DAILY_BUDGET_USD: '0.05', RATE_LIMIT_REQUESTS: '1000' };
    a = await startHarness({ mode: 'redis', standIn, env });
    b = await startHarness({ mode: 'redis', standIn, env, prefix: a.prefix });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await standIn.close();
  });
  beforeEach(() => standIn.reset());

  test('50 concurrent calls against a budget of 5 × the cap: at most 5 reach Perf and spend never exceeds the budget', async () => {
    const cookie = await a.sessionCookie();
    standIn.setDefaults({ costUsd: 0.01, delayMs: 100 });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => chat(i % 2 === 0 ? a : b, cookie, { message: `call ${i}` })));
    standIn.setDefaults({});
    const ok = answers.filter((r) => r.status === 200).length;
    expect(standIn.requests.length).toBeLessThanOrEqual(5);
    expect(ok).toBe(standIn.requests.length);
    expect(answers.filter((r) => r.status === 429 && r.body.error.type === 'budget_exceeded')).toHaveLength(50 - ok);
    const usage = await b.usage(cookie);
    expect(usage.spent_usd).toBeLessThanOrEqual(0.05);
    // The ledger balances: every granted call was charged its reported cost, nothing else remains.
    expect(usage).toMatchObject({ spent_usd: ok * 0.01, reserved_usd: 0 });
  });

  test('50 concurrent calls that cost less than the cap: spend stays within budget and equals the sum of reported costs', async () => {
    const cookie = await a.sessionCookie();
    standIn.setDefaults({ costUsd: 0.003, delayMs: 20 });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => chat(i % 2 === 0 ? a : b, cookie, { message: `call ${i}` })));
    standIn.setDefaults({});
    const ok = answers.filter((r) => r.status === 200).length;
    expect(ok).toBe(standIn.requests.length);
    expect(ok).toBeGreaterThanOrEqual(5);
    const usage = await a.usage(cookie);
    expect(usage.reserved_usd).toBe(0);
    expect(Math.round(usage.spent_usd * 1e6)).toBe(ok * 3000);
    expect(usage.spent_usd).toBeLessThanOrEqual(0.05);
  });
});

describe("the operator's ceiling across two instances and many users", () => {
  let standIn: Awaited<ReturnType<typeof sharedStandIn>>;
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    standIn = await sharedStandIn();
    const env = { MAX_COST_PER_CALL: '0.01', DAILY_BUDGET_USD: '1', GLOBAL_DAILY_BUDGET_USD: '0.05', RATE_LIMIT_REQUESTS: '1000' };
    a = await startHarness({ mode: 'redis', standIn, env });
    b = await startHarness({ mode: 'redis', standIn, env, prefix: a.prefix });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await standIn.close();
  });

  test('50 concurrent calls of 10 users against a ceiling of 5 caps: at most 5 reach Perf, the rest 503, and nothing stays reserved', async () => {
    const cookies = await Promise.all(Array.from({ length: 10 }, () => a.sessionCookie()));
    standIn.setDefaults({ costUsd: 0.01, delayMs: 50 });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => chat(i % 2 === 0 ? a : b, cookies[i % 10] ?? '', { message: `call ${i}` })),
    );
    standIn.setDefaults({});
    const ok = answers.filter((r) => r.status === 200).length;
    expect(ok).toBe(5);
    expect(ok).toBe(standIn.requests.length);
    expect(standIn.requests.length).toBeLessThanOrEqual(5);
    expect(answers.filter((r) => r.status === 503 && r.body.error.type === 'service_budget_exhausted')).toHaveLength(50 - ok);
    const ceiling = await a.stores.admission.status([], [{ id: GLOBAL_BUDGET_ID, budgetMicros: 50_000 }]);
    expect(ceiling.budgets[0]).toMatchObject({ usedMicros: ok * 10_000, reservedMicros: 0 });
    const usages = await Promise.all(cookies.map((cookie) => b.usage(cookie)));
    expect(usages.every((u) => u.reserved_usd === 0)).toBe(true);
    expect(Math.round(usages.reduce((sum, u) => sum + u.spent_usd, 0) * 1e6)).toBe(ok * 10_000);
  });
});

describe('when the ledger cannot be reached', () => {
  let h: Harness;
  beforeAll(async () => {
    // A client that never connected: every command fails at once (no offline queue).
    const dead = createStoreClient({ url: 'redis://127.0.0.1:1', tlsRejectUnauthorized: true }, createLogger('silent'));
    h = await startHarness({ mode: 'redis', storeOverrides: () => ({ admission: new RedisAdmissionStore(dead, 'x:', DAY_WINDOW) }) });
  });
  afterAll(() => h.close());

  test('money fails closed: 503 service_unavailable and no upstream call', async () => {
    const cookie = await h.sessionCookie();
    const started = Date.now();
    const res = await chat(h, cookie, { message: 'hi' }).expect(503);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(res.body.error.type).toBe('service_unavailable');
    expect(h.standIn.requests).toHaveLength(0);
  });
});

describe('when Perf refuses connections (the request never reached it)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { PERF_BASE_URL: 'http://127.0.0.1:1', UPSTREAM_TIMEOUT_MS: '3000' } });
  });
  afterAll(() => h.close());

  test('answers 502 upstream_unavailable and releases everything', async () => {
    const cookie = await h.sessionCookie();
    const res = await chat(h, cookie, { message: 'hi' }).expect(502);
    expect(res.body.error.type).toBe('upstream_unavailable');
    expect(await h.usage(cookie)).toMatchObject({ spent_usd: 0, reserved_usd: 0 });
  });
});
