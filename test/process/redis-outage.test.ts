import type { Agent } from 'undici';
import type { PerfStandIn } from '../../src/dev/perf-stand-in';
import type { Answer, AppProcess, RedisProcess } from './harness';
import { call, listening, productionEnv, signIn, sleep, startApp, startSuite, stopEverything, tempDir, waitFor } from './harness';

const KEY = 'pk_test_outagesuite_0001';
const PASSWORD = 'outage test password';
const METRICS_TOKEN = 'outage-metrics-token-0123456789';
const USERS = Array.from({ length: 20 }, (_, i) => `load${i}`);

let redis: RedisProcess;
let standIn: PerfStandIn;
let app: AppProcess;
let agent: Agent;
const cookies: string[] = [];

beforeAll(async () => {
  // Persistence on, like a managed Redis: what was written before the crash is there after it.
  const dir = tempDir();
  const args = (port: number) => ['--port', String(port), '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
  let perfUrl: string;
  ({ redis, standIn, perfUrl, agent } = await startSuite({ keys: [KEY], users: USERS, password: PASSWORD, redis: { args } }));
  standIn.setDefaults({ delayMs: 20 });
  app = await startApp(
    productionEnv({
      PERF_API_KEY: KEY,
      PERF_BASE_URL: perfUrl,
      REDIS_URL: redis.url,
      RATE_LIMIT_REQUESTS: '1000',
      DAILY_BUDGET_USD: '100',
      METRICS_TOKEN,
    }),
  );
  for (const user of USERS) cookies.push(await signIn(agent, app.url, user, PASSWORD));
});

afterAll(stopEverything);

/** `total` requests from 20 users at once, alternating chat and usage; every answer is kept. */
async function load(total: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  let issued = 0;
  await Promise.all(
    cookies.map(async (cookie) => {
      while (issued < total) {
        const n = issued++;
        answers.push(
          n % 2 === 0
            ? await call(agent, app.url, 'POST', '/api/chat', { cookie, body: { message: `load ${n}` } })
            : await call(agent, app.url, 'GET', '/api/usage', { cookie }),
        );
      }
    }),
  );
  return answers;
}

function statuses(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}

describe('Redis outage under load', () => {
  test('when redis-server is killed under load from 20 users, requests fail fast with 503, health stays up, readiness drops, and service returns by itself after Redis restarts', async () => {
    const before = await load(100);
    expect(statuses(before)).toEqual({ 200: 100 });

    // Killed while requests are in flight.
    const during = load(160);
    await waitFor('the first requests of the second wave', () => standIn.requests.length > 110);
    await redis.kill();
    const killedAt = Date.now();
    expect(await listening(redis.port)).toBe(false);
    const outage = await during;
    const perfCallsWhenDown = standIn.requests.length;

    const afterKill = await load(60);
    for (const a of [...outage, ...afterKill]) {
      expect([200, 503]).toContain(a.status);
      if (a.status === 503) expect((a.json() as { error: { type: string } }).error.type).toBe('service_unavailable');
    }
    expect(statuses(afterKill)).toEqual({ 503: 60 });
    // Money fails closed: with the ledger away, nothing reached Perf.
    expect(standIn.requests.length).toBe(perfCallsWhenDown);

    expect((await call(agent, app.url, 'GET', '/healthz')).status).toBe(200);
    const readyz = await call(agent, app.url, 'GET', '/readyz');
    expect(readyz.status).toBe(503);
    expect(readyz.ms).toBeLessThan(2000);
    expect(app.child.exitCode).toBeNull();

    // Down long enough to be an outage rather than a reconnect (5 s): the log says so as an error.
    await sleep(killedAt + 6000 - Date.now());
    await redis.start();
    const restarted = Date.now();
    await waitFor('/readyz to say 200 again', async () => (await call(agent, app.url, 'GET', '/readyz')).status === 200, 10_000, 100);
    expect(Date.now() - restarted).toBeLessThan(5000);

    // The sessions survived in Redis: the same cookies work without signing in again.
    const after = await load(100);
    expect(statuses(after)).toEqual({ 200: 100 });
    const slowest = Math.max(...[...before, ...outage, ...afterKill, ...after].map((a) => a.ms));
    expect(slowest).toBeLessThan(2000);

    const metrics = await call(agent, app.url, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const redisErrors = /^perf_bff_redis_errors_total (\d+)$/m.exec(metrics.text);
    expect(Number(redisErrors?.[1])).toBeGreaterThan(0);
    const logs = app.logs();
    const lost = logs.findIndex(
      (l) => l.level === 40 && /^redis: the connection to redis:\/\/127\.0\.0\.1:\d+ was lost/.test(String(l.msg)),
    );
    const outageError = logs.findIndex((l) => l.level === 50 && String(l.msg).startsWith('redis unavailable: '));
    const back = logs.findIndex((l) => l.level === 30 && l.msg === 'redis ready again');
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(outageError).toBeGreaterThan(lost);
    expect(back).toBeGreaterThan(outageError);
    // The reconnect loop's attempts are not logged one by one.
    expect(logs.filter((l) => String(l.msg).startsWith('redis')).length).toBeLessThan(6);
    expect(app.logs().some((l) => l.level === 60)).toBe(false);
  });
});
