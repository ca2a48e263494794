import { randomUUID } from 'node:crypto';
import { createLogger } from '../src/infra/logger';
import { createRedisClient } from '../src/infra/redis';
import type { RedisClient } from '../src/infra/redis';
import type { Ledger, LedgerWindow } from '../src/limits/ledger';
import { MemoryLedger } from '../src/limits/memory-ledger';
import { costToMicros, usdToMicros } from '../src/limits/money';
import { RedisLedger } from '../src/limits/redis-ledger';
import { deleteKeys, REDIS_URL } from './helpers/harness';

const WINDOW: LedgerWindow = { windowMs: 24 * 3600_000, bucketMs: 15 * 60_000, staleReservationMs: 6 * 3600_000 };
const HOUR = 3600_000;

describe('money conversions', () => {
  test('settings and caps round down to whole micro-dollars, never up', () => {
    expect(usdToMicros(0.01)).toBe(10_000);
    expect(usdToMicros(1)).toBe(1_000_000);
    expect(usdToMicros(0.0000019)).toBe(1);
    expect(usdToMicros(0.1 + 0.2)).toBe(300_000);
  });

  test('reported costs round up to whole micro-dollars, and float noise does not add one', () => {
    expect(costToMicros(0.0001)).toBe(100);
    expect(costToMicros(0.0002)).toBe(200);
    expect(costToMicros(0.0000004)).toBe(1);
    expect(costToMicros(0.000123456)).toBe(124);
    expect(costToMicros(0)).toBe(0);
  });
});

let redis: RedisClient;
let redis2: RedisClient;
const prefix = `perf-bff:test:ledger:${randomUUID()}:`;
beforeAll(async () => {
  redis = createRedisClient({ url: REDIS_URL, tlsRejectUnauthorized: true }, createLogger('silent'));
  redis2 = createRedisClient({ url: REDIS_URL, tlsRejectUnauthorized: true }, createLogger('silent'));
  await Promise.all([redis.connect(), redis2.connect()]);
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  await Promise.all([redis.close(), redis2.close()]);
});

type Make = (limitMicros: number, now: () => number) => Ledger;
const implementations: [string, Make][] = [
  ['redis', (limit, now) => new RedisLedger(redis, prefix, limit, WINDOW, now)],
  ['memory', (limit, now) => new MemoryLedger(limit, WINDOW, now)],
];

describe.each(implementations)('%s ledger', (_name, make) => {
  let clock: number;
  let ledger: Ledger;
  let user: string;
  const now = () => clock;
  beforeEach(() => {
    clock = Date.UTC(2026, 10, 27, 10, 0, 0);
    ledger = make(50_000, now);
    user = `u-${randomUUID()}`;
  });

  test('a reservation counts as used and reserved until it is settled', async () => {
    expect(await ledger.reserve(user, 'r1', 10_000)).toEqual({ ok: true });
    expect(await ledger.status(user)).toMatchObject({ limitMicros: 50_000, usedMicros: 10_000, reservedMicros: 10_000 });
  });

  test('charge: the reported cost replaces the reservation exactly', async () => {
    await ledger.reserve(user, 'r1', 10_000);
    await ledger.settle(user, 'r1', { kind: 'charge', micros: 123 });
    expect(await ledger.status(user)).toMatchObject({ usedMicros: 123, reservedMicros: 0 });
  });

  test('charge above the cap: the whole reported cost is charged (Perf\'s cap is soft)', async () => {
    await ledger.reserve(user, 'r1', 10_000);
    await ledger.settle(user, 'r1', { kind: 'charge', micros: 12_500 });
    expect(await ledger.status(user)).toMatchObject({ usedMicros: 12_500, reservedMicros: 0 });
  });

  test('keep: the whole reservation stays charged', async () => {
    await ledger.reserve(user, 'r1', 10_000);
    await ledger.settle(user, 'r1', { kind: 'keep' });
    expect(await ledger.status(user)).toMatchObject({ usedMicros: 10_000, reservedMicros: 0 });
  });

  test('release: nothing is charged', async () => {
    await ledger.reserve(user, 'r1', 10_000);
    await ledger.settle(user, 'r1', { kind: 'release' });
    expect(await ledger.status(user)).toMatchObject({ usedMicros: 0, reservedMicros: 0, resetAt: null });
  });

  test('settling twice changes nothing the second time', async () => {
    await ledger.reserve(user, 'r1', 10_000);
    await ledger.settle(user, 'r1', { kind: 'charge', micros: 100 });
    await ledger.settle(user, 'r1', { kind: 'release' });
    await ledger.settle(user, 'unknown', { kind: 'release' });
    expect(await ledger.status(user)).toMatchObject({ usedMicros: 100, reservedMicros: 0 });
  });

  test('a reservation that does not fit is refused with the seconds until enough spend lapses', async () => {
    await ledger.reserve(user, 'a', 30_000);
    await ledger.settle(user, 'a', { kind: 'keep' });
    clock += HOUR;
    await ledger.reserve(user, 'b', 20_000);
    await ledger.settle(user, 'b', { kind: 'keep' });
    const refused = await ledger.reserve(user, 'c', 10_000);
    // The first 30,000 lapse 24 h after the end of their 15-minute bucket: 23 h 15 min from now.
    expect(refused).toEqual({ ok: false, retryAfterSeconds: 23 * 3600 + 15 * 60, neverFits: false });
    clock += 23 * HOUR + 15 * 60_000;
    expect(await ledger.reserve(user, 'c', 10_000)).toEqual({ ok: true });
  });

  test('a cap larger than the whole budget never fits', async () => {
    expect(await ledger.reserve(user, 'a', 60_000)).toMatchObject({ ok: false, neverFits: true });
  });

  test('spend lapses after the rolling window', async () => {
    await ledger.reserve(user, 'a', 50_000);
    await ledger.settle(user, 'a', { kind: 'keep' });
    expect((await ledger.reserve(user, 'b', 1)).ok).toBe(false);
    clock += 24 * HOUR + 15 * 60_000;
    expect(await ledger.status(user)).toMatchObject({ usedMicros: 0, resetAt: null });
    expect((await ledger.reserve(user, 'b', 50_000)).ok).toBe(true);
  });

  test('a reservation never settled (its instance died) stays charged and stops counting as reserved after six hours', async () => {
    await ledger.reserve(user, 'orphan', 10_000);
    clock += 6 * HOUR - 1;
    expect(await ledger.status(user)).toMatchObject({ usedMicros: 10_000, reservedMicros: 10_000 });
    clock += 1;
    expect(await ledger.status(user)).toMatchObject({ usedMicros: 10_000, reservedMicros: 0 });
    await ledger.settle(user, 'orphan', { kind: 'release' });
    expect(await ledger.status(user)).toMatchObject({ usedMicros: 10_000 });
  });

  test('a budget of 0 turns limits off but still counts spend', async () => {
    const open = make(0, now);
    for (let i = 0; i < 5; i += 1) expect(await open.reserve(user, `r${i}`, 1_000_000)).toEqual({ ok: true });
    expect(await open.status(user)).toMatchObject({ limitMicros: null, usedMicros: 5_000_000 });
  });

  test('200 concurrent reservations of 1,000 against 50,000 let exactly 50 through', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => ledger.reserve(user, `r${i}`, 1_000)));
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    expect(await ledger.status(user)).toMatchObject({ usedMicros: 50_000, reservedMicros: 50_000 });
  });
});

test('two Redis clients (two instances) reserving concurrently never overshoot', async () => {
  const clock = () => Date.now();
  const a = new RedisLedger(redis, prefix, 50_000, WINDOW, clock);
  const b = new RedisLedger(redis2, prefix, 50_000, WINDOW, clock);
  const user = `u-${randomUUID()}`;
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? a : b).reserve(user, `r${i}`, 700)));
  const granted = results.filter((r) => r.ok).length;
  expect(granted).toBe(Math.floor(50_000 / 700));
  expect((await a.status(user)).usedMicros).toBe(granted * 700);
});

test('the Redis ledger survives SCRIPT FLUSH (scripts are re-sent on NOSCRIPT)', async () => {
  const ledger = new RedisLedger(redis, prefix, 50_000, WINDOW);
  const user = `u-${randomUUID()}`;
  await ledger.reserve(user, 'a', 1);
  await redis.scriptFlush();
  expect(await ledger.reserve(user, 'b', 1)).toEqual({ ok: true });
});

test('a gated reservation reserves nothing while the rate-limit counter is over its limit', async () => {
  const ledger = new RedisLedger(redis, prefix, 50_000, WINDOW);
  const user = `u-${randomUUID()}`;
  const counter = `${prefix}rl:${user}`;
  await redis.set(counter, '6');
  expect(await ledger.reserve(user, 'a', 1_000, { key: counter, limit: 5 })).toMatchObject({ ok: false, gated: true });
  expect(await ledger.status(user)).toMatchObject({ usedMicros: 0, reservedMicros: 0 });
  await redis.set(counter, '5');
  expect(await ledger.reserve(user, 'b', 1_000, { key: counter, limit: 5 })).toEqual({ ok: true });
  await redis.del(counter);
  expect(await ledger.reserve(user, 'c', 1_000, { key: counter, limit: 5 })).toEqual({ ok: true });
});
