import { randomUUID } from 'node:crypto';
import { createLogger } from '../../src/infra/logger';
import type { AdmitRequest, Budget, Window } from '../../src/limits/admission';
import type { LedgerWindow } from '../../src/limits/ledger-window';
import { ClusterAdmissionStore } from '../../src/stores/cluster-admission';
import { createClusterStoreClient } from '../../src/stores/redis-cluster-client';
import type { RedisClusterClient } from '../../src/stores/redis-cluster-client';
import { CLUSTER_URLS, deleteKeys } from '../helpers/harness';

/*
 * The admission store on a cluster, step by step: a call that counts in several subjects is
 * admitted by one step per subject (one slot each); a refusal anywhere hands back what the other
 * steps reserved, and no budget ever holds more than it allows.
 */

const WINDOW: LedgerWindow = { windowMs: 86_400_000, bucketMs: 900_000, staleReservationMs: 3_600_000 };
const CAP = 10_000;
const prefix = `perf-bff:test:${randomUUID()}:`;
let clients: RedisClusterClient[];
let a: ClusterAdmissionStore;
let b: ClusterAdmissionStore;

beforeAll(async () => {
  const urls = (CLUSTER_URLS ?? '').split(',');
  clients = [0, 1].map(() => createClusterStoreClient({ urls, tlsRejectUnauthorized: true }, createLogger('silent')));
  await Promise.all(clients.map((c) => c.connect()));
  [a, b] = clients.map((c) => new ClusterAdmissionStore(c, prefix, WINDOW)) as [ClusterAdmissionStore, ClusterAdmissionStore];
});
afterAll(async () => {
  await deleteKeys(clients[0]!, prefix);
  await Promise.all(clients.map((c) => c.close()));
});

const window = (id: string, requestsPerWindow = 100): Window => ({ id, requestsPerWindow, windowSeconds: 60 });
const budget = (id: string, caps: number | null): Budget => ({ id, budgetMicros: caps === null ? null : caps * CAP });
const call = (windows: Window[], budgets: Budget[]): AdmitRequest => ({ reservationId: randomUUID(), capMicros: CAP, windows, budgets });

function guest(pool: number) {
  const id = `guest:${randomUUID()}`;
  const address = `guest-ip:${randomUUID()}`;
  return call(
    [window(id), window(address)],
    [budget(id, 5), budget(address, 5), budget(`pool:guests-${randomUUID()}`, pool), budget(`pool:${randomUUID()}`, 100)],
  );
}

async function held(request: AdmitRequest) {
  const standing = await a.status(request.windows, request.budgets);
  return standing.budgets.map((s) => ({ used: s.usedMicros, reserved: s.reservedMicros }));
}

test("a guest's call reserves in its own, its address's, the pool's and the ceiling's ledger (four slots) and settles in all of them", async () => {
  const request = guest(1000);
  const admitted = await a.admit(request);
  expect(admitted.reservation).toEqual({ ok: true });
  expect(admitted.used.slice(0, 2)).toEqual([CAP, CAP]);
  expect((await held(request)).map((h) => h.reserved)).toEqual([CAP, CAP, CAP, CAP]);
  await b.settle(
    request.reservationId,
    request.budgets.map((x) => x.id),
    { kind: 'charge', micros: 1234 },
  );
  const after = await held(request);
  expect(after.map((h) => h.reserved)).toEqual([0, 0, 0, 0]);
  expect([after[0]?.used, after[1]?.used, after[3]?.used]).toEqual([1234, 1234, 1234]);
});

test('when the pool has no room, what the guest, the address and the ceiling reserved is handed back at once', async () => {
  const request = guest(0);
  const refused = await a.admit(request);
  expect(refused.reservation).toMatchObject({ ok: false, refusedBy: 2, neverFits: true });
  expect(await held(request)).toEqual([0, 1, 2, 3].map(() => ({ used: 0, reserved: 0 })));
});

test("when the address's window is full, the refused call keeps nothing in either budget and still counts in both windows", async () => {
  const id = `guest:${randomUUID()}`;
  const address = `guest-ip:${randomUUID()}`;
  const first = call([window(id, 5), window(address, 1)], [budget(id, 5), budget(address, 5)]);
  expect((await a.admit(first)).reservation).toEqual({ ok: true });
  const second = { ...first, reservationId: randomUUID() };
  const refused = await b.admit(second);
  expect(refused.reservation).toBeUndefined();
  expect(refused.rate).toMatchObject({ allowed: false, limit: 1 });
  const standing = await a.status(first.windows, first.budgets);
  expect(standing.rates.map((r) => r.remaining)).toEqual([3, 0]);
  // The first call's reservation only.
  expect(standing.budgets.map((s) => s.reservedMicros)).toEqual([CAP, CAP]);
});

test("when several budgets refuse, the first in the caller's order speaks (the user's own before the ceiling)", async () => {
  const user = `user-${randomUUID()}`;
  const refused = await a.admit(call([window(user)], [budget(user, 0), budget(`pool:${randomUUID()}`, 0)]));
  expect(refused.reservation).toMatchObject({ ok: false, refusedBy: 0 });
});

test('a settlement applied twice (a retry after a lost answer) charges once', async () => {
  const user = `user-${randomUUID()}`;
  const request = call([window(user)], [budget(user, 5)]);
  await a.admit(request);
  await a.settle(request.reservationId, [user], { kind: 'charge', micros: 700 });
  await b.settle(request.reservationId, [user], { kind: 'release' });
  expect(await held(request)).toEqual([{ used: 700, reserved: 0 }]);
});

test('300 concurrent calls of 30 users over two clients: no user holds more than 3 caps, the ceiling never more than 20', async () => {
  const ceiling = `pool:${randomUUID()}`;
  const users = Array.from({ length: 30 }, () => `user-${randomUUID()}`);
  const requests = Array.from({ length: 300 }, (_, i) => {
    const user = users[i % users.length] ?? '';
    return call([window(user, 1000)], [budget(user, 3), budget(ceiling, 20)]);
  });
  const results = await Promise.all(requests.map((r, i) => (i % 2 === 0 ? a : b).admit(r)));
  const admitted = results.filter((r) => r.reservation?.ok === true).length;
  expect(admitted).toBeGreaterThan(0);
  expect(admitted).toBeLessThanOrEqual(20);
  const standing = await a.status([], [budget(ceiling, 20), ...users.map((u) => budget(u, 3))]);
  const [pool, ...own] = standing.budgets;
  expect(pool).toMatchObject({ usedMicros: admitted * CAP, reservedMicros: admitted * CAP });
  expect(own.every((s) => s.usedMicros <= 3 * CAP)).toBe(true);
  expect(own.reduce((sum, s) => sum + s.reservedMicros, 0)).toBe(admitted * CAP);
});

test('a master with an empty script cache (one that just took over) still runs every step: EVALSHA, then EVAL once', async () => {
  const masters = await Promise.all(clients[0]!.masters.map((m) => clients[0]!.nodeClient(m)));
  await Promise.all(masters.map((m) => m.scriptFlush()));
  const user = `user-${randomUUID()}`;
  const request = call([window(user)], [budget(user, 5)]);
  expect((await a.admit(request)).reservation).toEqual({ ok: true });
  await a.settle(request.reservationId, [user], { kind: 'charge', micros: 42 });
  expect(await held(request)).toEqual([{ used: 42, reserved: 0 }]);
});
