import supertest from 'supertest';
import { startHarness } from '../helpers/harness';
import type { Harness } from '../helpers/harness';
import { waitFor } from '../helpers/wait';
import { startCluster } from './local-cluster';
import type { LocalCluster } from './local-cluster';

/*
 * A cluster client that cannot discover its cluster stays closed (unlike one Redis's client, which
 * reconnects by itself): perf-bff keeps trying, so an app started while the cluster is away needs
 * no restart once it is back.
 */

let cluster: LocalCluster;
let h: Harness | undefined;
beforeAll(async () => {
  cluster = await startCluster();
}, 30_000);
afterAll(async () => {
  await h?.close();
  await cluster.stop();
});

test('an app started while every node is down answers 503 at once, then works once the cluster is back, without a restart', async () => {
  await Promise.all(cluster.nodes.map((node) => cluster.kill(node)));
  const started = Date.now();
  h = await startHarness({ mode: 'redis', env: { REDIS_URL: cluster.seeds, REDIS_CLUSTER: 'true' } });
  const app = h;
  expect(Date.now() - started).toBeLessThan(4000);
  await supertest(app.url).get('/readyz').expect(503);
  await supertest(app.url).post('/auth/login').send({ username: 'early', password: 'x' }).expect(503);
  expect(app.logs.parsed().some((l) => l.level === 50 && /ECONNREFUSED/.test(String(l.msg)))).toBe(true);

  await cluster.restart();
  await waitFor(async () => (await supertest(app.url).get('/readyz')).status === 200, 10_000, '/readyz 200');
  const agent = await app.signedIn();
  await agent.post('/api/chat').send({ message: 'hello again' }).expect(200);
}, 40_000);
