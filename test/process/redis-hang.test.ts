import type { Agent } from 'undici';
import type { PerfStandIn } from '../../src/dev/perf-stand-in';
import type { AppProcess, RedisProcess } from './harness';
import { call, newAgent, productionEnv, signIn, startApp, startSuite, stopEverything, waitFor } from './harness';
import { STAND_IN_COST_USD } from '../../src/dev/perf-stand-in';

const KEY = 'pk_test_hangsuite_00001';
const PASSWORD = 'hang test password';

let redis: RedisProcess;
let standIn: PerfStandIn;
let app: AppProcess;
let agent: Agent;
let cookie: string;

beforeAll(async () => {
  let perfUrl: string;
  ({ redis, standIn, perfUrl, agent } = await startSuite({ keys: [KEY], users: ['hang'], password: PASSWORD }));
  app = await startApp(productionEnv({ PERF_API_KEY: KEY, PERF_BASE_URL: perfUrl, REDIS_URL: redis.url, RATE_LIMIT_REQUESTS: '1000' }));
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
  // The reservation the refused chat made once Redis woke up was handed back: only 'before' is charged.
  await waitFor('the refused call to leave nothing reserved', async () => {
    const usage = (await call(agent, app.url, 'GET', '/api/usage', { cookie })).json() as {
      budget: { reserved_usd: number; spent_usd: number };
    };
    return usage.budget.reserved_usd === 0 && usage.budget.spent_usd === STAND_IN_COST_USD;
  });
  expect((await call(agent, app.url, 'POST', '/api/chat', { cookie, body: { message: 'after' } })).status).toBe(200);
  expect(app.child.exitCode).toBeNull();
});

test('SIGTERM while Redis is silent still ends the process promptly with exit code 0', async () => {
  const own = await startApp(
    productionEnv({ PERF_API_KEY: KEY, PERF_BASE_URL: 'http://127.0.0.1:1', REDIS_URL: redis.url, SHUTDOWN_TIMEOUT_MS: '1000' }),
  );
  const ownAgent = newAgent();
  const ownCookie = await signIn(ownAgent, own.url, 'hang', PASSWORD);
  redis.pause();
  try {
    // A command now waits on the wire: a graceful Redis close would wait for its reply forever.
    expect((await call(ownAgent, own.url, 'GET', '/api/usage', { cookie: ownCookie })).status).toBe(503);
    const started = Date.now();
    own.child.kill('SIGTERM');
    const { code } = await own.exit;
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  } finally {
    redis.resume();
  }
});
