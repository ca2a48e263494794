import supertest from 'supertest';
import { createClient } from 'redis';
import { REDIS_URL, sessionIdOf, startHarness } from './helpers/harness';
import type { Harness } from './helpers/harness';
import { RedisRoundTripCounter } from './helpers/redis-round-trips';
import { openStream } from './helpers/sse-client';

/** The stated budget of Redis round trips for one chat request (session, admission, settle). */
const MAX_ROUND_TRIPS = 3;
/** A session this instance has read before is served from its client-side cache: admission and settle only. */
const HOT_SESSION_ROUND_TRIPS = 2;

describe('Redis round trips per chat request', () => {
  let counter: RedisRoundTripCounter;
  let h: Harness;
  let cookie: string;
  beforeAll(async () => {
    counter = new RedisRoundTripCounter();
    const url = await counter.listen();
    h = await startHarness({ mode: 'redis', env: { REDIS_URL: url, RATE_LIMIT_REQUESTS: '100' } });
    cookie = await h.sessionCookie();
    // Warm up: the first call loads the Lua scripts into Redis (NOSCRIPT, then EVAL) and reads the session once.
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: 'warm up' }).expect(200);
  });

  test(`the first chat of a session this instance has not read yet makes ${MAX_ROUND_TRIPS} round trips`, async () => {
    const cold = await h.sessionCookie();
    counter.flights = 0;
    await supertest(h.url).post('/api/chat').set('Cookie', cold).send({ message: 'hi' }).expect(200);
    expect(counter.flights).toBe(MAX_ROUND_TRIPS);
  });

  test('a session rewritten by someone else is read again on its next chat (Redis invalidated the cached copy)', async () => {
    const fresh = await h.sessionCookie();
    await supertest(h.url).post('/api/chat').set('Cookie', fresh).send({ message: 'hi' }).expect(200);
    // Another client (another instance, the users CLI) rewrites the session: the cached copy is invalidated.
    const sid = sessionIdOf(fresh);
    const other = createClient({ url: REDIS_URL });
    await other.connect();
    try {
      const key = `${h.prefix}sess:${sid}`;
      const stored = JSON.parse((await other.get(key)) ?? 'null') as { user: { username: string } };
      await other.set(key, JSON.stringify({ ...stored, rewritten: true }), { expiration: 'KEEPTTL' });
    } finally {
      other.destroy();
    }
    counter.flights = 0;
    await supertest(h.url).post('/api/chat').set('Cookie', fresh).send({ message: 'hi' }).expect(200);
    expect(counter.flights).toBe(MAX_ROUND_TRIPS);
    counter.flights = 0;
    await supertest(h.url).post('/api/chat').set('Cookie', fresh).send({ message: 'hi' }).expect(200);
    expect(counter.flights).toBe(HOT_SESSION_ROUND_TRIPS);
  });
  afterAll(async () => {
    await h.close();
    await counter.close();
  });

  test(`a JSON chat request on a hot session makes ${HOT_SESSION_ROUND_TRIPS} round trips`, async () => {
    counter.flights = 0;
    await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: 'hi' }).expect(200);
    expect(counter.flights).toBe(HOT_SESSION_ROUND_TRIPS);
  });

  test(`a streamed chat request on a hot session makes at most ${HOT_SESSION_ROUND_TRIPS} round trips`, async () => {
    counter.flights = 0;
    const stream = await openStream(h.url, cookie, { message: 'hi', stream: true });
    await stream.done;
    expect(stream.events.at(-1)?.data).toBe('[DONE]');
    // The settlement runs as the stream ends, before the last byte leaves: it has been counted.
    expect(counter.flights).toBe(HOT_SESSION_ROUND_TRIPS);
  });

  test(`a stream that reports its cost and tokens (a price observation too) on a hot session makes at most ${HOT_SESSION_ROUND_TRIPS} round trips`, async () => {
    counter.flights = 0;
    h.standIn.enqueue({ streamCostUsd: 0.0003 });
    await (
      await openStream(h.url, cookie, { message: 'hi', stream: true })
    ).done;
    expect(counter.flights).toBe(HOT_SESSION_ROUND_TRIPS);
  });

  test(`a stream estimated at a learned price on a hot session makes at most ${HOT_SESSION_ROUND_TRIPS} round trips`, async () => {
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
    expect(counter.flights).toBe(HOT_SESSION_ROUND_TRIPS);
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
