import { randomUUID } from 'node:crypto';
import { createLogger } from '../src/infra/logger';
import type { AdmissionStore, Limits, ReserveResult } from '../src/limits/admission';
import type { LedgerWindow } from '../src/limits/ledger-window';
import { MemoryAdmissionStore } from '../src/stores/memory-admission';
import { RedisAdmissionStore } from '../src/stores/redis-admission';
import { createStoreClient } from '../src/stores/redis-client';
import type { RedisClient } from '../src/stores/redis-client';
import { deleteKeys, REDIS_URL } from './helpers/harness';
import { startRedis, stopEverything } from './process/harness';

const WINDOW: LedgerWindow = { windowMs: 24 * 3600_000, bucketMs: 15 * 60_000, staleReservationMs: 6 * 3600_000 };
const HOUR = 3600_000;
const BUDGET: Limits = { requestsPerWindow: 1_000_000, windowSeconds: 60, budgetMicros: 50_000 };

let redis: RedisClient;
let redis2: RedisClient;
const prefix = `perf-bff:test:admission:${randomUUID()}:`;
beforeAll(async () => {
  redis = createStoreClient({ url: REDIS_URL, tlsRejectUnauthorized: true }, createLogger('silent'));
  redis2 = createStoreClient({ url: REDIS_URL, tlsRejectUnauthorized: true }, createLogger('silent'));
  await Promise.all([redis.connect(), redis2.connect()]);
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  await Promise.all([redis.close(), redis2.close()]);
  await stopEverything();
});

type Make = (now: () => number) => AdmissionStore;
const implementations: [string, Make][] = [
  ['redis', (now) => new RedisAdmissionStore(redis, prefix, WINDOW, now)],
  ['memory', (now) => new MemoryAdmissionStore(WINDOW, now)],
];

/** A reservation as the ledger tests think of it: the rate limit never in the way. */
async function reserve(
  store: AdmissionStore,
  user: string,
  id: string,
  amount: number,
  limits: Limits = BUDGET,
): Promise<ReserveResult | undefined> {
  return (await store.admit({ user, reservationId: id, capMicros: amount, limits })).reservation;
}

describe.each(implementations)('%s admission store: the ledger', (_name, make) => {
  let clock: number;
  let store: AdmissionStore;
  let user: string;
  const now = () => clock;
  const budget = async () => (await store.status(user, BUDGET)).budget;
  beforeEach(() => {
    clock = Date.UTC(2026, 10, 27, 10, 0, 0);
    store = make(now);
    user = `u-${randomUUID()}`;
  });

  test('a reservation counts as used and reserved until it is settled', async () => {
    expect(await reserve(store, user, 'r1', 10_000)).toEqual({ ok: true });
    expect(await budget()).toMatchObject({ limitMicros: 50_000, usedMicros: 10_000, reservedMicros: 10_000 });
  });

  test('charge: the reported cost replaces the reservation exactly', async () => {
    await reserve(store, user, 'r1', 10_000);
    await store.settle(user, 'r1', { kind: 'charge', micros: 123 });
    expect(await budget()).toMatchObject({ usedMicros: 123, reservedMicros: 0 });
  });

  test("charge above the cap: the whole reported cost is charged (Perf's cap is soft)", async () => {
    await reserve(store, user, 'r1', 10_000);
    await store.settle(user, 'r1', { kind: 'charge', micros: 12_500 });
    expect(await budget()).toMatchObject({ usedMicros: 12_500, reservedMicros: 0 });
  });

  test('keep: the whole reservation stays charged', async () => {
    await reserve(store, user, 'r1', 10_000);
    await store.settle(user, 'r1', { kind: 'keep' });
    expect(await budget()).toMatchObject({ usedMicros: 10_000, reservedMicros: 0 });
  });

  test('release: nothing is charged', async () => {
    await reserve(store, user, 'r1', 10_000);
    await store.settle(user, 'r1', { kind: 'release' });
    expect(await budget()).toMatchObject({ usedMicros: 0, reservedMicros: 0, resetAt: null });
  });

  test('settling twice changes nothing the second time', async () => {
    await reserve(store, user, 'r1', 10_000);
    await store.settle(user, 'r1', { kind: 'charge', micros: 100 });
    await store.settle(user, 'r1', { kind: 'release' });
    await store.settle(user, 'unknown', { kind: 'release' });
    expect(await budget()).toMatchObject({ usedMicros: 100, reservedMicros: 0 });
  });

  test('a reservation that does not fit is refused with the seconds until enough spend lapses', async () => {
    await reserve(store, user, 'a', 30_000);
    await store.settle(user, 'a', { kind: 'keep' });
    clock += HOUR;
    await reserve(store, user, 'b', 20_000);
    await store.settle(user, 'b', { kind: 'keep' });
    // The first 30,000 lapse 24 h after the end of their 15-minute bucket: 23 h 15 min from now.
    expect(await reserve(store, user, 'c', 10_000)).toEqual({ ok: false, retryAfterSeconds: 23 * 3600 + 15 * 60, neverFits: false });
    clock += 23 * HOUR + 15 * 60_000;
    expect(await reserve(store, user, 'c', 10_000)).toEqual({ ok: true });
  });

  test('a cap larger than the whole budget never fits', async () => {
    expect(await reserve(store, user, 'a', 60_000)).toEqual({ ok: false, retryAfterSeconds: 24 * 3600, neverFits: true });
  });

  test('spend lapses after the rolling window', async () => {
    await reserve(store, user, 'a', 50_000);
    await store.settle(user, 'a', { kind: 'keep' });
    expect(await reserve(store, user, 'b', 1)).toMatchObject({ ok: false });
    clock += 24 * HOUR + 15 * 60_000;
    expect(await budget()).toMatchObject({ usedMicros: 0, resetAt: null });
    expect(await reserve(store, user, 'b', 50_000)).toEqual({ ok: true });
  });

  test('a reservation never settled (its instance died) stays charged and stops counting as reserved after six hours', async () => {
    await reserve(store, user, 'orphan', 10_000);
    clock += 6 * HOUR - 1;
    expect(await budget()).toMatchObject({ usedMicros: 10_000, reservedMicros: 10_000 });
    clock += 1;
    expect(await budget()).toMatchObject({ usedMicros: 10_000, reservedMicros: 0 });
    await store.settle(user, 'orphan', { kind: 'release' });
    expect(await budget()).toMatchObject({ usedMicros: 10_000 });
  });

  test('with budgets off (null) every call fits, and spend is still counted', async () => {
    const open = { ...BUDGET, budgetMicros: null };
    for (let i = 0; i < 5; i += 1) expect(await reserve(store, user, `r${i}`, 1_000_000, open)).toEqual({ ok: true });
    expect((await store.status(user, open)).budget).toMatchObject({ limitMicros: null, usedMicros: 5_000_000 });
  });

  test('200 concurrent reservations of 1,000 against 50,000 let exactly 50 through', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => reserve(store, user, `r${i}`, 1_000)));
    expect(results.filter((r) => r?.ok === true)).toHaveLength(50);
    expect(await budget()).toMatchObject({ usedMicros: 50_000, reservedMicros: 50_000 });
  });
});

describe.each(implementations)('%s admission store: the rate limit', (_name, make) => {
  let clock: number;
  let store: AdmissionStore;
  let user: string;
  const limits: Limits = { requestsPerWindow: 3, windowSeconds: 60, budgetMicros: 50_000 };
  beforeEach(() => {
    // Real time: the Redis window's TTL runs on Redis's clock.
    clock = Date.now();
    store = make(() => clock);
    user = `u-${randomUUID()}`;
  });

  test('counts requests in a fixed window and says how many are left and when it resets', async () => {
    const first = await store.admit({ user, reservationId: 'a', capMicros: 1, limits });
    expect(first.rate).toMatchObject({ limit: 3, remaining: 2, allowed: true });
    expect(first.rate.resetAt - Math.ceil(clock / 1000)).toBeGreaterThanOrEqual(59);
    expect(first.rate.resetAt - Math.ceil(clock / 1000)).toBeLessThanOrEqual(60);
  });

  test('a request over the limit is refused with the seconds left, and reserves nothing', async () => {
    for (const id of ['a', 'b', 'c'])
      expect((await store.admit({ user, reservationId: id, capMicros: 1_000, limits })).reservation).toEqual({ ok: true });
    const refused = await store.admit({ user, reservationId: 'd', capMicros: 1_000, limits });
    expect(refused.reservation).toBeUndefined();
    expect(refused.rate).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused.rate.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect((await store.status(user, limits)).budget).toMatchObject({ usedMicros: 3_000, reservedMicros: 3_000 });
  });

  test('a counted request (refused before admission) spends the window like any other', async () => {
    expect(await store.hit(user, limits)).toMatchObject({ remaining: 2, allowed: true });
    await store.hit(user, limits);
    await store.hit(user, limits);
    expect(await store.hit(user, limits)).toMatchObject({ remaining: 0, allowed: false });
  });

  test('status reads where the user stands without spending a request', async () => {
    expect((await store.status(user, limits)).rate).toMatchObject({ limit: 3, remaining: 3, allowed: true });
    await store.hit(user, limits);
    expect((await store.status(user, limits)).rate).toMatchObject({ remaining: 2, allowed: true });
    expect((await store.status(user, limits)).rate).toMatchObject({ remaining: 2 });
  });
});

test('two Redis clients (two instances) admitting concurrently never overshoot', async () => {
  const a = new RedisAdmissionStore(redis, prefix, WINDOW);
  const b = new RedisAdmissionStore(redis2, prefix, WINDOW);
  const user = `u-${randomUUID()}`;
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => reserve(i % 2 === 0 ? a : b, user, `r${i}`, 700)));
  const granted = results.filter((r) => r?.ok === true).length;
  expect(granted).toBe(Math.floor(50_000 / 700));
  expect((await a.status(user, BUDGET)).budget.usedMicros).toBe(granted * 700);
});

test('the Redis store survives SCRIPT FLUSH (node-redis re-sends a script on NOSCRIPT)', async () => {
  // A Redis of its own: flushing the shared one would pull the scripts from under other tests.
  const own = await startRedis();
  const client = createStoreClient({ url: own.url, tlsRejectUnauthorized: true }, createLogger('silent'));
  await client.connect();
  try {
    const store = new RedisAdmissionStore(client, prefix, WINDOW);
    await reserve(store, 'u', 'a', 1);
    await client.scriptFlush();
    expect(await reserve(store, 'u', 'b', 1)).toEqual({ ok: true });
  } finally {
    await client.close();
  }
});
