import supertest from 'supertest';
import { startHarness } from './helpers/harness';
import type { Harness } from './helpers/harness';
import { RedisRoundTripCounter } from './helpers/redis-round-trips';
import { openStream } from './helpers/sse-client';

/** The stated budget of Redis round trips for one chat request (session, admission, settle). */
const MAX_ROUND_TRIPS = 3;

describe('Redis round trips per chat request', () => {
  let counter: RedisRoundTripCounter;
  let h: Harness;
  let cookie: string;
  beforeAll(async () => {
    counter = new RedisRoundTripCounter();
    const url = await counter.listen();
    h = await startHarness({ mode: 'redis', env: { REDIS_URL: url, RATE_LIMIT_REQUESTS: '100' } });
    cookie = await h.sessionCookie();
    // Warm up: the first call loads the Lua scripts into Redis (NOSCRIPT, then EVAL).
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: 'warm up' }).expect(200);
  });
  afterAll(async () => {
    await h.close();
    await counter.close();
  });

  test(`a JSON chat request makes at most ${MAX_ROUND_TRIPS} round trips`, async () => {
    counter.flights = 0;
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: 'hi' }).expect(200);
    expect(counter.flights).toBeGreaterThan(0);
    expect(counter.flights).toBeLessThanOrEqual(MAX_ROUND_TRIPS);
  });

  test(`a streamed chat request makes at most ${MAX_ROUND_TRIPS} round trips`, async () => {
    counter.flights = 0;
    const stream = await openStream(h.url, cookie, { message: 'hi', stream: true });
    await stream.done;
    expect(stream.events.at(-1)?.data).toBe('[DONE]');
    // The settlement runs as the stream ends, before the last byte leaves: it has been counted.
    expect(counter.flights).toBeLessThanOrEqual(MAX_ROUND_TRIPS);
  });

  test(`a stream that reports its cost and tokens (a price observation too) makes at most ${MAX_ROUND_TRIPS} round trips`, async () => {
    counter.flights = 0;
    h.standIn.enqueue({ streamCostUsd: 0.0003 });
    await (
      await openStream(h.url, cookie, { message: 'hi', stream: true })
    ).done;
    expect(counter.flights).toBeLessThanOrEqual(MAX_ROUND_TRIPS);
  });

  test(`a stream estimated at a learned price makes at most ${MAX_ROUND_TRIPS} round trips`, async () => {
    for (const reply of ['one', 'two words', 'three more words']) {
      h.standIn.enqueue({ reply });
      await supertest(h.url)
        .post('/api/chat')
        .set('Cookie', cookie)
        .send({ message: reply.repeat(20) })
        .expect(200);
    }
    counter.flights = 0;
    await (
      await openStream(h.url, cookie, { message: 'hi', stream: true })
    ).done;
    expect(counter.flights).toBeLessThanOrEqual(MAX_ROUND_TRIPS);
    const line = h.logs
      .parsed()
      .filter((l) => l.msg === 'request')
      .at(-1) as { call: { cost_source: string } };
    expect(line.call.cost_source).toBe('estimated');
  });
});

describe('a burst over the rate limit does not spend the budget of allowed calls', () => {
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    const env = { RATE_LIMIT_REQUESTS: '5', MAX_COST_PER_CALL: '0.01', DAILY_BUDGET_USD: '0.05' };
    a = await startHarness({ mode: 'redis', env });
    b = await startHarness({ mode: 'redis', env, prefix: a.prefix });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  test('20 concurrent calls over two instances, limit 5 and budget 5 caps: 5 answered, 15 rate-limited, none budget_exceeded', async () => {
    const cookie = await a.sessionCookie();
    a.standIn.setDefaults({ costUsd: 0.01, delayMs: 50 });
    b.standIn.setDefaults({ costUsd: 0.01, delayMs: 50 });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        supertest((i % 2 === 0 ? a : b).url)
          .post('/api/chat')
          .set('Cookie', cookie)
          .send({ message: 'hi' }),
      ),
    );
    const types = answers.map((r) => (r.status === 200 ? 'ok' : (r.body.error.type as string)));
    expect(types.filter((t) => t === 'ok')).toHaveLength(5);
    expect(types.filter((t) => t === 'rate_limit_exceeded')).toHaveLength(15);
    expect(await a.usage(cookie)).toMatchObject({ spent_usd: 0.05, reserved_usd: 0 });
  });

  test('with budget to spare, the calls refused by the rate limit leave nothing reserved or charged', async () => {
    const env = { RATE_LIMIT_REQUESTS: '5', MAX_COST_PER_CALL: '0.01', DAILY_BUDGET_USD: '0.2' };
    const c = await startHarness({ mode: 'redis', env });
    const d = await startHarness({ mode: 'redis', env, prefix: c.prefix });
    try {
      const cookie = await c.sessionCookie();
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          supertest((i % 2 === 0 ? c : d).url)
            .post('/api/chat')
            .set('Cookie', cookie)
            .send({ message: 'hi' }),
        ),
      );
      expect(answers.filter((r) => r.status === 200)).toHaveLength(5);
      // Refused by the rate limit in the same step that would reserve: nothing was ever held.
      expect(await c.usage(cookie)).toMatchObject({ spent_usd: 0.001, reserved_usd: 0 });
    } finally {
      await d.close();
      await c.close();
    }
  });
});
