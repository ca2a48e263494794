import supertest from 'supertest';
import { isCluster } from '../../src/stores/store-redis';
import type { RedisClusterClient } from '../../src/stores/redis-cluster-client';
import { startHarness } from '../helpers/harness';
import type { Harness } from '../helpers/harness';
import { openStream } from '../helpers/sse-client';

/*
 * What perf-bff writes on a Redis Cluster: every key under REDIS_KEY_PREFIX, in the layout of
 * src/stores/keys.ts, and the keys that one step touches together in one slot.
 */

const KEY_SHAPES = [
  /^sess:[\w-]+$/,
  /^user-sessions:\{u:[^}]+\}$/,
  /^\{users\}:user:[^{}]+$/,
  /^\{users\}:users$/,
  /^plan:\{u:[^}]+\}$/,
  /^ledger:\{u:[^}]+\}$/,
  /^rl:chat:\{u:[^}]+\}$/,
  /^spend:\d{4}-\d\d-\d\d:\{spend:\d+\}$/,
  /^\{prices\}:(model:.+|models)$/,
  /^rl:login(-ip)?:.+$/,
];

async function allKeys(redis: RedisClusterClient, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const master of redis.masters) {
    const node = await redis.nodeClient(master);
    for await (const batch of node.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) keys.push(...batch);
  }
  return keys.sort();
}

describe('the keys on a Redis Cluster', () => {
  let h: Harness;
  let redis: RedisClusterClient;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { GUEST_PLAN: 'default', GLOBAL_DAILY_BUDGET_USD: '5', RATE_LIMIT_REQUESTS: '100' } });
    if (h.redis === undefined || !isCluster(h.redis)) throw new Error('the cluster project runs the app on a cluster');
    redis = h.redis;
  });
  afterAll(() => h.close());

  test('after sign-ins, chats, a stream, a guest and a plan: every key has the prefix and the tagged layout, and each subject is one slot', async () => {
    const alice = await h.signedIn('alice');
    h.standIn.enqueue({ costUsd: 0.0002 });
    await alice.post('/api/chat').send({ message: 'hi' }).expect(200);
    const cookie = await h.sessionCookie('bob');
    await (
      await openStream(h.url, cookie, { message: 'hi', stream: true })
    ).done;
    await h.stores.plans.set('bob', 'default');
    await supertest(h.url).post('/auth/login').send({ username: 'alice', password: 'wrong' }).expect(401);
    const guest = supertest.agent(h.url);
    await guest.post('/auth/guest').expect(200);
    await guest.post('/api/chat').send({ message: 'hi' }).expect(200);
    await alice.get('/api/usage').expect(200);

    const keys = await allKeys(redis, h.prefix);
    const names = keys.map((k) => k.slice(h.prefix.length));
    expect(keys.every((k) => k.startsWith(h.prefix))).toBe(true);
    expect(names.filter((n) => !KEY_SHAPES.some((shape) => shape.test(n)))).toEqual([]);
    for (const expected of ['ledger:{u:alice}', 'ledger:{u:pool:global}', 'ledger:{u:pool:guests}', 'plan:{u:bob}', '{users}:users']) {
      expect(names).toContain(expected);
    }
    expect(names.some((n) => n.startsWith('ledger:{u:guest-ip:'))).toBe(true);
    expect(names.some((n) => n.startsWith('ledger:{u:guest:'))).toBe(true);

    // A subject's keys, and the accounts, each share one slot: the tag, not the name, decides.
    const node = await redis.nodeClient(redis.masters[0]!);
    const slotOf = (name: string) => node.clusterKeySlot(`${h.prefix}${name}`);
    for (const user of ['alice', 'bob']) {
      const slots = await Promise.all(
        [`ledger:{u:${user}}`, `rl:chat:{u:${user}}`, `plan:{u:${user}}`, `user-sessions:{u:${user}}`].map(slotOf),
      );
      expect(new Set(slots).size).toBe(1);
    }
    expect(await slotOf('{users}:user:alice')).toBe(await slotOf('{users}:users'));
    expect(await slotOf('{prices}:models')).toBe(await slotOf('{prices}:model:x'));
  });

  test("a day's spend log is spread over slices and read back whole", async () => {
    const day = new Date().toISOString().slice(0, 10);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => h.stores.spend.record(day, `spread${i}`, 'default', { source: 'reported', micros: i })),
    );
    const slices = new Set((await allKeys(redis, `${h.prefix}spend:${day}:`)).map((k) => /\{spend:\d+\}$/.exec(k)?.[0]));
    expect(slices.size).toBeGreaterThan(8);
    const entries = (await h.stores.spend.day(day)).filter((e) => e.user.startsWith('spread'));
    expect(entries).toHaveLength(40);
    expect(entries.reduce((sum, e) => sum + e.reportedMicros, 0)).toBe((39 * 40) / 2);
  });
});
