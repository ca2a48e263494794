import type { Agent } from 'undici';
import type { PerfStandIn } from '../../src/dev/perf-stand-in';
import type { AppProcess, RedisProcess } from './harness';
import { call, newAgent, productionEnv, seedUsers, signIn, startApp, startRedis, startStandIn, stopEverything, waitFor } from './harness';

const KEY = 'pk_test_hangsuite_00001';
const PASSWORD = 'hang test password';

let redis: RedisProcess;
let standIn: PerfStandIn;
let app: AppProcess;
let agent: Agent;
let cookie: string;

beforeAll(async () => {
  redis = await startRedis();
  const started = await startStandIn([KEY]);
  standIn = started.standIn;
  await seedUsers(redis.url, ['hang'], PASSWORD);
  app = await startApp(productionEnv({ PERF_API_KEY: KEY, PERF_BASE_URL: started.url, REDIS_URL: redis.url, RATE_LIMIT_REQUESTS: '1000' }));
  agent = newAgent();
  cookie = await signIn(agent, app.url, 'hang', PASSWORD);
});

afterAll(async () => {
  redis.resume();
  await stopEverything();
});

test('when Redis is connected but stops answering, requests get 503 within 2 s, nothing reaches Perf, and service returns when it answers again', async () => {
  expect((await call(agent, app.url, 'POST', '/api/chat', { cookie, body: { message: 'before' } })).status).toBe(200);
  const perfCalls = standIn.requests.length;
  redis.pause();
  try {
    const answers = await Promise.all([
      call(agent, app.url, 'POST', '/api/chat', { cookie, body: { message: 'during' } }),
      call(agent, app.url, 'GET', '/api/usage', { cookie }),
      call(agent, app.url, 'POST', '/auth/login', { body: { username: 'hang', password: PASSWORD } }),
      call(agent, app.url, 'GET', '/readyz'),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.ms).toBeLessThan(2000);
    }
    expect((await call(agent, app.url, 'GET', '/healthz')).status).toBe(200);
    expect(standIn.requests.length).toBe(perfCalls);
  } finally {
    redis.resume();
  }
  await waitFor('/readyz to say 200 again', async () => (await call(agent, app.url, 'GET', '/readyz')).status === 200, 10_000, 100);
  expect((await call(agent, app.url, 'POST', '/api/chat', { cookie, body: { message: 'after' } })).status).toBe(200);
  expect(app.child.exitCode).toBeNull();
});
