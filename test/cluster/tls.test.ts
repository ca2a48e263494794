import supertest from 'supertest';
import { startHarness } from '../helpers/harness';
import type { Harness } from '../helpers/harness';
import { waitFor } from '../helpers/wait';
import { startCluster } from './local-cluster';
import type { LocalCluster } from './local-cluster';

/*
 * A cluster that speaks only TLS, with a password and a self-signed certificate (as some hosted
 * Redis present): REDIS_TLS_REJECT_UNAUTHORIZED and the password apply to every node, not only to
 * the seeds.
 */

let cluster: LocalCluster;
beforeAll(async () => {
  cluster = await startCluster({ tls: true, password: 'tls cluster password' });
}, 30_000);
afterAll(() => cluster.stop());

const clusterEnv = (extra: Record<string, string> = {}) => ({ REDIS_URL: cluster.seeds, REDIS_CLUSTER: 'true', ...extra });

describe('a Redis Cluster on rediss:// with a self-signed certificate', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  test('with REDIS_TLS_REJECT_UNAUTHORIZED left at its default, the certificate is refused: /readyz 503, sign-in 503, the setting named once', async () => {
    h = await startHarness({ mode: 'redis', env: clusterEnv() });
    await supertest(h.url).get('/readyz').expect(503);
    await supertest(h.url).post('/auth/login').send({ username: 'nobody', password: 'x' }).expect(503);
    const errors = h.logs.parsed().filter((l) => l.level === 50 && String(l.msg).startsWith('redis:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ setting: 'REDIS_TLS_REJECT_UNAUTHORIZED' });
    expect(h.logs.text).not.toContain('tls cluster password');
  });

  test('with REDIS_TLS_REJECT_UNAUTHORIZED=false, every node is reached over TLS with the password: sign-in and chat work', async () => {
    h = await startHarness({ mode: 'redis', env: clusterEnv({ REDIS_TLS_REJECT_UNAUTHORIZED: 'false' }) });
    const app = h;
    await waitFor(async () => (await supertest(app.url).get('/readyz')).status === 200, 5000, '/readyz 200');
    const agent = await app.signedIn();
    await agent.post('/api/chat').send({ message: 'over tls, on every shard' }).expect(200);
    expect(app.logs.text).not.toContain('tls cluster password');
  });
});
