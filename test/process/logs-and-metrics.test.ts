import type { Agent } from 'undici';
import type { PerfStandIn } from '../../src/dev/perf-stand-in';
import type { AppProcess } from './harness';
import { call, COOKIE_NAME, productionEnv, signIn, startApp, startSuite, stopEverything } from './harness';
import { STAND_IN_COST_USD } from '../../src/dev/perf-stand-in';

// Distinctive values: if any of them shows up in a log line, something leaked.
const KEY = 'pk_test_LOGSUITEsecretKEY_9f8e7d';
const PASSWORD = 'Pa55-LOGSUITE-correct-horse';
const WRONG_PASSWORD = 'Pa55-LOGSUITE-wrong-guess';
const PROMPT = 'PROMPT-LOGSUITE-what-is-the-secret-plan';
const METRICS_TOKEN = 'metrics-LOGSUITE-token-0123456789';

let standIn: PerfStandIn;
let app: AppProcess;
let agent: Agent;
const cookies: string[] = [];
let jsonRequestId = '';

beforeAll(async () => {
  const suite = await startSuite({ keys: [KEY], users: ['lena', 'budgy'], password: PASSWORD });
  ({ standIn, agent } = suite);
  const { redis } = suite;
  app = await startApp(
    productionEnv({
      PERF_API_KEY: KEY,
      PERF_BASE_URL: suite.perfUrl,
      REDIS_URL: redis.url,
      METRICS_TOKEN,
      RATE_LIMIT_REQUESTS: '4',
      MAX_COST_PER_CALL: '0.01',
      DAILY_BUDGET_USD: '0.02',
    }),
  );

  // What the metrics must count afterwards:
  for (let i = 0; i < 2; i++) {
    const failed = await call(agent, app.url, 'POST', '/auth/login', { body: { username: 'lena', password: WRONG_PASSWORD } });
    expect(failed.status).toBe(401);
  }
  const lena = await signIn(agent, app.url, 'lena', PASSWORD);
  const budgy = await signIn(agent, app.url, 'budgy', PASSWORD);
  cookies.push(lena, budgy);

  const json = await call(agent, app.url, 'POST', '/api/chat', { cookie: lena, body: { message: PROMPT } });
  expect(json.status).toBe(200);
  jsonRequestId = String(json.headers['x-request-id']);
  standIn.enqueue({ streamCostUsd: 0.0003 });
  const stream = await call(agent, app.url, 'POST', '/api/chat', {
    cookie: lena,
    body: { messages: [{ role: 'user', content: PROMPT }], stream: true },
  });
  expect(stream.status).toBe(200);
  expect(stream.text).toContain('data: [DONE]');
  standIn.enqueue({ status: 401 });
  const rejectedKey = await call(agent, app.url, 'POST', '/api/chat', { cookie: lena, body: { message: PROMPT } });
  expect((rejectedKey.json() as { error: { type: string } }).error.type).toBe('upstream_auth_failed');
  expect((await call(agent, app.url, 'POST', '/api/chat', { cookie: lena, body: { message: PROMPT } })).status).toBe(200);
  const limited = await call(agent, app.url, 'POST', '/api/chat', { cookie: lena, body: { message: PROMPT } });
  expect((limited.json() as { error: { type: string } }).error.type).toBe('rate_limit_exceeded');

  // Perf's cap is soft: 0.015 is charged, and then the next 0.01 reservation no longer fits 0.02.
  standIn.enqueue({ costUsd: 0.015 });
  expect((await call(agent, app.url, 'POST', '/api/chat', { cookie: budgy, body: { message: PROMPT } })).status).toBe(200);
  const broke = await call(agent, app.url, 'POST', '/api/chat', { cookie: budgy, body: { message: PROMPT } });
  expect((broke.json() as { error: { type: string } }).error.type).toBe('budget_exceeded');
});

afterAll(stopEverything);

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  test('without a token answers 401 with a Bearer challenge, and with a wrong token 401 too', async () => {
    const none = await call(agent, app.url, 'GET', '/metrics');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(none.text).not.toContain('perf_bff_');
    const wrong = await call(agent, app.url, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain('perf_bff_');
  });

  test('with the token, counts exactly what the test did', async () => {
    const res = await call(agent, app.url, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = res.text;
    const requests = (route: string, status: number, method = 'POST') =>
      sample(m, `perf_bff_http_requests_total{method="${method}",route="${route}",status="${status}"}`);
    expect(requests('/auth/login', 401)).toBe(2);
    expect(requests('/auth/login', 200)).toBe(2);
    expect(requests('/api/chat', 200)).toBe(4);
    expect(requests('/api/chat', 502)).toBe(1);
    expect(requests('/api/chat', 429)).toBe(2);
    expect(requests('/metrics', 401, 'GET')).toBe(2);
    expect(sample(m, 'perf_bff_failed_sign_ins_total')).toBe(2);
    expect(sample(m, 'perf_bff_rate_limit_rejections_total')).toBe(1);
    expect(sample(m, 'perf_bff_budget_rejections_total')).toBe(1);
    expect(sample(m, 'perf_bff_spend_usd_total{plan="default",source="reported"}')).toBeCloseTo(
      STAND_IN_COST_USD + 0.0003 + STAND_IN_COST_USD + 0.015,
      9,
    );
    // Every answered request also has its duration: the histogram's count matches the counter, its buckets are cumulative.
    const chatDuration = (suffix: string, le = '') =>
      sample(m, `perf_bff_http_request_duration_seconds_${suffix}{${le}method="POST",route="/api/chat",status="200"}`);
    expect(chatDuration('count')).toBe(4);
    expect(chatDuration('sum')).toBeGreaterThan(0);
    expect(chatDuration('bucket', 'le="+Inf",')).toBe(4);
    expect(chatDuration('bucket', 'le="0.005",')).toBeLessThanOrEqual(chatDuration('bucket', 'le="10",') ?? 0);
    expect(chatDuration('bucket', 'le="10",')).toBe(4);
    expect(sample(m, 'perf_bff_http_request_duration_seconds_count{method="POST",route="/auth/login",status="401"}')).toBe(2);
    expect(sample(m, 'perf_bff_upstream_latency_seconds_count{outcome="200"}')).toBe(4);
    expect(sample(m, 'perf_bff_upstream_latency_seconds_count{outcome="401"}')).toBe(1);
    expect(sample(m, 'perf_bff_open_streams')).toBe(0);
    expect(sample(m, 'perf_bff_redis_errors_total')).toBe(0);
    // The default process metrics live on the same registry.
    expect(sample(m, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });
});

describe('the log', () => {
  test('every line is JSON, and none holds the Perf key, a password, the session cookie or the prompt text', () => {
    const raw = `${app.lines.join('\n')}\n${app.stderr()}`;
    expect(app.logs().length).toBeGreaterThan(10);
    const secrets: Record<string, string> = {
      key: KEY,
      password: PASSWORD,
      wrongPassword: WRONG_PASSWORD,
      prompt: PROMPT,
      metricsToken: METRICS_TOKEN,
    };
    for (const [i, cookie] of cookies.entries()) {
      const value = cookie.slice(COOKIE_NAME.length + 1);
      secrets[`cookie${i}`] = value;
      // The bare session id inside the signed value (s:<id>.<signature>).
      secrets[`sid${i}`] = decodeURIComponent(value).slice(2).split('.')[0] ?? value;
    }
    expect(secrets.sid0).toMatch(/^[\w-]{20,}$/);
    // Reported by name only, so a failure never prints the secret itself.
    const leaked = Object.entries(secrets)
      .filter(([, secret]) => raw.includes(secret))
      .map(([name]) => name);
    expect(leaked).toEqual([]);
  });

  test('a chat answer has one line with request id, pseudonymous user, route, status, latency and the call facts', () => {
    const lines = app.logs().filter((l) => JSON.stringify(l).includes(jsonRequestId));
    expect(lines).toHaveLength(1);
    const line = lines[0] as Record<string, unknown> & {
      req: { method: string; path: string };
      res: { status: number };
      call: Record<string, unknown>;
    };
    expect(line.request_id).toBe(jsonRequestId);
    expect(line.user).toMatch(/^u_[0-9a-f]{16}$/);
    expect(line.req).toMatchObject({ method: 'POST', path: '/api/chat' });
    expect(line.res.status).toBe(200);
    expect(typeof line.responseTime).toBe('number');
    expect(line.call).toMatchObject({ upstream_status: 200, model_used: 'stand-in-small', cost_usd: STAND_IN_COST_USD, settled: 'charge' });
    expect(typeof line.call.tokens).toBe('number');
  });

  test('when Perf answers 401, an error-level line says the Perf key was rejected', () => {
    const lines = app.logs().filter((l) => String(l.msg).includes('Perf rejected the API key'));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe(50);
  });
});
