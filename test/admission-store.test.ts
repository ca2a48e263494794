import { randomUUID } from 'node:crypto';
import { createLogger } from '../src/infra/logger';
import type { AdmissionStore, Budget, ReserveResult, Window } from '../src/limits/admission';
import type { LedgerWindow } from '../src/limits/ledger-window';
import { MemoryAdmissionStore } from '../src/stores/memory-admission';
import { RedisAdmissionStore } from '../src/stores/redis-admission';
import { createStoreClient } from '../src/stores/redis-client';
import type { RedisClient } from '../src/stores/redis-client';
import { deleteKeys, REDIS_URL } from './helpers/harness';
import { startRedis, stopEverything } from './process/harness';

const WINDOW: LedgerWindow = { windowMs: 24 * 3600_000, bucketMs: 15 * 60_000, staleReservationMs: 6 * 3600_000 };
const HOUR = 3600_000;
/** A user's window and budget, as a plan would give them. */
interface Limits {
  requestsPerWindow: number;
  windowSeconds: number;
  budgetMicros: number | null;
}
const BUDGET: Limits = { requestsPerWindow: 1_000_000, windowSeconds: 60, budgetMicros: 50_000 };
const windowOf = (user: string, l: Limits): Window[] => [
  { id: user, requestsPerWindow: l.requestsPerWindow, windowSeconds: l.windowSeconds },
];
const budgetOf = (user: string, l: Limits): Budget[] => [{ id: user, budgetMicros: l.budgetMicros }];

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
  return (await store.admit({ reservationId: id, capMicros: amount, windows: windowOf(user, limits), budgets: budgetOf(user, limits) }))
    .reservation;
}

const settleOne = (store: AdmissionStore, user: string, id: string, outcome: Parameters<AdmissionStore['settle']>[2]) =>
  store.settle(id, [user], outcome);
const standing = async (store: AdmissionStore, user: string, limits: Limits = BUDGET) => {
  const s = await store.status(windowOf(user, limits), budgetOf(user, limits));
  return { rate: s.rates[0], budget: s.budgets[0] };
};

describe.each(implementations)('%s admission store: the ledger', (_name, make) => {
  let clock: number;
  let store: AdmissionStore;
  let user: string;
  const now = () => clock;
  const budget = async () => (await standing(store, user)).budget;
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
    await settleOne(store, user, 'r1', { kind: 'charge', micros: 123 });
    expect(await budget()).toMatchObject({ usedMicros: 123, reservedMicros: 0 });
  });

  test("charge above the cap: the whole reported cost is charged (Perf's cap is soft)", async () => {
    await reserve(store, user, 'r1', 10_000);
    await settleOne(store, user, 'r1', { kind: 'charge', micros: 12_500 });
    expect(await budget()).toMatchObject({ usedMicros: 12_500, reservedMicros: 0 });
  });

  test('keep: the whole reservation stays charged', async () => {
    await reserve(store, user, 'r1', 10_000);
    await settleOne(store, user, 'r1', { kind: 'keep' });
    expect(await budget()).toMatchObject({ usedMicros: 10_000, reservedMicros: 0 });
  });

  test('release: nothing is charged', async () => {
    await reserve(store, user, 'r1', 10_000);
    await settleOne(store, user, 'r1', { kind: 'release' });
    expect(await budget()).toMatchObject({ usedMicros: 0, reservedMicros: 0, resetAt: null });
  });

  test('settling twice changes nothing the second time', async () => {
    await reserve(store, user, 'r1', 10_000);
    await settleOne(store, user, 'r1', { kind: 'charge', micros: 100 });
    await settleOne(store, user, 'r1', { kind: 'release' });
    await settleOne(store, user, 'unknown', { kind: 'release' });
    expect(await budget()).toMatchObject({ usedMicros: 100, reservedMicros: 0 });
  });

  test('a reservation that does not fit is refused with the seconds until enough spend lapses', async () => {
    await reserve(store, user, 'a', 30_000);
    await settleOne(store, user, 'a', { kind: 'keep' });
    clock += HOUR;
    await reserve(store, user, 'b', 20_000);
    await settleOne(store, user, 'b', { kind: 'keep' });
    // The first 30,000 lapse 24 h after the end of their 15-minute bucket: 23 h 15 min from now.
    expect(await reserve(store, user, 'c', 10_000)).toEqual({
      ok: false,
      retryAfterSeconds: 23 * 3600 + 15 * 60,
      neverFits: false,
      refusedBy: 0,
    });
    clock += 23 * HOUR + 15 * 60_000;
    expect(await reserve(store, user, 'c', 10_000)).toEqual({ ok: true });
  });

  test('a cap larger than the whole budget never fits', async () => {
    expect(await reserve(store, user, 'a', 60_000)).toEqual({ ok: false, retryAfterSeconds: 24 * 3600, neverFits: true, refusedBy: 0 });
  });

  test('spend lapses after the rolling window', async () => {
    await reserve(store, user, 'a', 50_000);
    await settleOne(store, user, 'a', { kind: 'keep' });
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
    await settleOne(store, user, 'orphan', { kind: 'release' });
    expect(await budget()).toMatchObject({ usedMicros: 10_000 });
  });

  test('with budgets off (null) every call fits, and spend is still counted', async () => {
    const open = { ...BUDGET, budgetMicros: null };
    for (let i = 0; i < 5; i += 1) expect(await reserve(store, user, `r${i}`, 1_000_000, open)).toEqual({ ok: true });
    expect((await standing(store, user, open)).budget).toMatchObject({ limitMicros: null, usedMicros: 5_000_000 });
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
    const first = await store.admit({ reservationId: 'a', capMicros: 1, windows: windowOf(user, limits), budgets: budgetOf(user, limits) });
    expect(first.rate).toMatchObject({ limit: 3, remaining: 2, allowed: true });
    expect(first.rate.resetAt - Math.ceil(clock / 1000)).toBeGreaterThanOrEqual(59);
    expect(first.rate.resetAt - Math.ceil(clock / 1000)).toBeLessThanOrEqual(60);
  });

  test('a request over the limit is refused with the seconds left, and reserves nothing', async () => {
    for (const id of ['a', 'b', 'c']) expect(await reserve(store, user, id, 1_000, limits)).toEqual({ ok: true });
    const refused = await store.admit({
      reservationId: 'd',
      capMicros: 1_000,
      windows: windowOf(user, limits),
      budgets: budgetOf(user, limits),
    });
    expect(refused.reservation).toBeUndefined();
    expect(refused.rate).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused.rate.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect((await standing(store, user, limits)).budget).toMatchObject({ usedMicros: 3_000, reservedMicros: 3_000 });
  });

  test('a counted request (refused before admission) spends the window like any other', async () => {
    const windows = windowOf(user, limits);
    expect(await store.hit(windows)).toMatchObject({ remaining: 2, allowed: true });
    await store.hit(windows);
    await store.hit(windows);
    expect(await store.hit(windows)).toMatchObject({ remaining: 0, allowed: false });
  });

  test('status reads where the user stands without spending a request', async () => {
    expect((await standing(store, user, limits)).rate).toMatchObject({ limit: 3, remaining: 3, allowed: true });
    await store.hit(windowOf(user, limits));
    expect((await standing(store, user, limits)).rate).toMatchObject({ remaining: 2, allowed: true });
    expect((await standing(store, user, limits)).rate).toMatchObject({ remaining: 2 });
  });
});

describe.each(implementations)('%s admission store: several windows and budgets at once', (_name, make) => {
  const now = () => Date.UTC(2026, 10, 27, 10, 0, 0);
  let store: AdmissionStore;
  let user: string;
  let pool: string;
  beforeEach(() => {
    store = make(now);
    user = `u-${randomUUID()}`;
    pool = `pool-${randomUUID()}`;
  });
  const admitBoth = (id: string, cap: number, own: number, shared: number) =>
    store.admit({
      reservationId: id,
      capMicros: cap,
      windows: [{ id: user, requestsPerWindow: 100, windowSeconds: 60 }],
      budgets: [
        { id: user, budgetMicros: own },
        { id: pool, budgetMicros: shared },
      ],
    });

  test('a cap is reserved in every budget, and says what each holds now', async () => {
    expect(await admitBoth('a', 1_000, 10_000, 5_000)).toMatchObject({ reservation: { ok: true }, used: [1_000, 1_000] });
    expect(await admitBoth('b', 1_000, 10_000, 5_000)).toMatchObject({ reservation: { ok: true }, used: [2_000, 2_000] });
  });

  test('all or nothing: a full shared budget refuses the call, and names itself, with nothing reserved anywhere', async () => {
    await admitBoth('a', 4_000, 10_000, 5_000);
    const refused = await admitBoth('b', 2_000, 10_000, 5_000);
    expect(refused.reservation).toMatchObject({ ok: false, refusedBy: 1 });
    const s = await store.status(
      [],
      [
        { id: user, budgetMicros: 10_000 },
        { id: pool, budgetMicros: 5_000 },
      ],
    );
    expect(s.budgets.map((b) => b.usedMicros)).toEqual([4_000, 4_000]);
  });

  test('settling closes the reservation in every budget it was made in', async () => {
    await admitBoth('a', 4_000, 10_000, 5_000);
    await store.settle('a', [user, pool], { kind: 'charge', micros: 300 });
    const s = await store.status(
      [],
      [
        { id: user, budgetMicros: 10_000 },
        { id: pool, budgetMicros: 5_000 },
      ],
    );
    expect(s.budgets.map((b) => [b.usedMicros, b.reservedMicros])).toEqual([
      [300, 0],
      [300, 0],
    ]);
  });

  test('a request counts in every window; the tightest one speaks for it', async () => {
    const windows = [
      { id: user, requestsPerWindow: 10, windowSeconds: 60 },
      { id: pool, requestsPerWindow: 2, windowSeconds: 60 },
    ];
    const admitIn = (id: string) => store.admit({ reservationId: id, capMicros: 1, windows, budgets: [] });
    expect((await admitIn('a')).rate).toMatchObject({ limit: 2, remaining: 1 });
    await admitIn('b');
    const third = await admitIn('c');
    expect(third.reservation).toBeUndefined();
    expect(third.rate).toMatchObject({ limit: 2, remaining: 0, allowed: false });
  });
});

test('two Redis clients (two instances) admitting concurrently never overshoot', async () => {
  const a = new RedisAdmissionStore(redis, prefix, WINDOW);
  const b = new RedisAdmissionStore(redis2, prefix, WINDOW);
  const user = `u-${randomUUID()}`;
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => reserve(i % 2 === 0 ? a : b, user, `r${i}`, 700)));
  const granted = results.filter((r) => r?.ok === true).length;
  expect(granted).toBe(Math.floor(50_000 / 700));
  expect((await standing(a, user)).budget?.usedMicros).toBe(granted * 700);
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
