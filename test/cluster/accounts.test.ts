import { openAccountStore } from '../../src/cli/account-store';
import { loadConfig } from '../../src/config';
import { RedisConnectError } from '../../src/infra/redis';
import { CLUSTER_URLS, PASSWORD, startHarness } from '../helpers/harness';
import type { Harness } from '../helpers/harness';

/* `npm run users` and the release phase reach the accounts through openAccountStore(): on a cluster too. */

describe('the accounts of the command-line tools on a Redis Cluster', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis' });
  });
  afterAll(() => h.close());

  test('a user added, put on a plan and removed by the tools is seen by the app at once, sessions ended', async () => {
    const config = loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: CLUSTER_URLS ?? '', REDIS_KEY_PREFIX: h.prefix });
    const store = await openAccountStore(config, config.redisUrl ?? '');
    try {
      await store.accounts.setPassword('carol', PASSWORD);
      const carol = h.agent();
      await carol.post('/auth/login').send({ username: 'carol', password: PASSWORD }).expect(200);
      expect(await store.accounts.setPlan('carol', 'default')).toBe(true);
      expect(await store.accounts.list()).toEqual([expect.objectContaining({ username: 'carol', plan: 'default', openSessions: 1 })]);
      expect(await store.accounts.remove('carol')).toEqual({ removed: true, endedSessions: 1 });
      await carol.get('/auth/me').expect(401);
    } finally {
      await store.close();
    }
  });

  test('seeds where nothing listens: a RedisConnectError naming the first seed and ECONNREFUSED, within the deadline', async () => {
    const config = loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://127.0.0.1:1,redis://127.0.0.1:2' });
    const started = Date.now();
    const opening = openAccountStore(config, config.redisUrl ?? '');
    await expect(opening).rejects.toThrow(RedisConnectError);
    await expect(opening).rejects.toThrow(/127\.0\.0\.1:1 .*ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
