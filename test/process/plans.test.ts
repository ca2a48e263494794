import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { costToMicros } from '../../src/limits/money';
import { call, productionEnv, runUsersCli, signIn, startApp, startSuite, stopEverything, tempDir, waitFor } from './harness';
import type { AppProcess, Suite } from './harness';

/* Plans, guests, the operator's ceiling and the spend report, against real server processes and Redis. */

const KEY = 'pk_test_planssuite_0001';
const PASSWORD = 'plans suite password';
const PLANS = {
  small: {
    requests_per_window: 3,
    window_seconds: 60,
    daily_budget_usd: 0.02,
    max_cost_per_call: 0.01,
    models: ['m-small'],
    max_tokens: 100,
  },
  big: { requests_per_window: 100, window_seconds: 60, daily_budget_usd: 1, max_cost_per_call: 0.01, models: '*' },
  guest: { requests_per_window: 50, window_seconds: 60, daily_budget_usd: 0.01, max_cost_per_call: 0.005, models: '*' },
};

let suite: Suite;
let env: Record<string, string>;
let a: AppProcess;
let b: AppProcess;

beforeAll(async () => {
  suite = await startSuite({ keys: [KEY] });
  const plansFile = path.join(tempDir(), 'plans.json');
  writeFileSync(plansFile, JSON.stringify(PLANS));
  env = productionEnv({
    PERF_API_KEY: KEY,
    PERF_BASE_URL: suite.perfUrl,
    REDIS_URL: suite.redis.url,
    PLANS_FILE: plansFile,
    DEFAULT_PLAN: 'small',
    GUEST_PLAN: 'guest',
  });
  [a, b] = await Promise.all([startApp(env), startApp(env)]);
  await runUsersCli(env, ['add', 'alice'], `${PASSWORD}\n`);
  await runUsersCli(env, ['add', 'bob', '--plan', 'big'], `${PASSWORD}\n`);
});
afterAll(stopEverything);
beforeEach(() => {
  suite.standIn.reset();
  suite.standIn.setDefaults({});
});

const chat = (app: AppProcess, cookie: string, body: object, headers: Record<string, string> = {}) =>
  call(suite.agent, app.url, 'POST', '/api/chat', { cookie, body, headers });
const errorType = (answer: { json: () => unknown }) => (answer.json() as { error: { type: string } }).error.type;
const usage = async (app: AppProcess, cookie: string) =>
  (await call(suite.agent, app.url, 'GET', '/api/usage', { cookie })).json() as {
    plan: string;
    rate_limit: { limit: number };
    budget: { limit_usd: number; spent_usd: number };
  };

describe('plans', () => {
  test('two users on different plans get their own limits and budgets', async () => {
    const alice = await signIn(suite.agent, a.url, 'alice', PASSWORD);
    const bob = await signIn(suite.agent, a.url, 'bob', PASSWORD);
    expect(await usage(a, alice)).toMatchObject({ plan: 'small', rate_limit: { limit: 3 }, budget: { limit_usd: 0.02 } });
    expect(await usage(a, bob)).toMatchObject({ plan: 'big', rate_limit: { limit: 100 }, budget: { limit_usd: 1 } });
    // The cost unknown, each call keeps its 0.01 cap: small's 0.02 budget takes two.
    suite.standIn.setDefaults({ costUsd: null });
    expect((await chat(a, alice, { message: 'one' })).status).toBe(200);
    expect((await chat(b, alice, { message: 'two' })).status).toBe(200);
    expect(errorType(await chat(a, alice, { message: 'three' }))).toBe('budget_exceeded');
    for (let i = 0; i < 3; i += 1) expect((await chat(b, bob, { message: `bob ${i}` })).status).toBe(200);
    // small's window holds 3 requests: the refused one counted too.
    expect(errorType(await chat(a, alice, { message: 'four' }))).toBe('rate_limit_exceeded');
  });

  test("a model outside the plan is a 400 naming the allowed ones, with no upstream call; max_tokens is held to the plan's ceiling", async () => {
    await runUsersCli(env, ['add', 'carol'], `${PASSWORD}\n`);
    const carol = await signIn(suite.agent, a.url, 'carol', PASSWORD);
    const refused = await chat(a, carol, { message: 'hi', model: 'm-big' });
    expect(refused.status).toBe(400);
    expect((refused.json() as { error: { message: string } }).error.message).toBe(
      'Model "m-big" is not available. Allowed: auto, m-small.',
    );
    expect((await chat(a, carol, { message: 'hi', max_tokens: 200 })).status).toBe(400);
    expect(suite.standIn.requests).toHaveLength(0);
    expect((await chat(a, carol, { message: 'hi', model: 'm-small' })).status).toBe(200);
    expect(suite.standIn.requests[0]?.body).toMatchObject({ model: 'm-small', max_tokens: 100, max_cost_per_call: 0.01 });
  });

  test('a plan change takes effect on the next request on the other instance, with no sign-out', async () => {
    await runUsersCli(env, ['add', 'dave'], `${PASSWORD}\n`);
    const dave = await signIn(suite.agent, a.url, 'dave', PASSWORD);
    expect((await chat(a, dave, { message: 'hi', model: 'm-big' })).status).toBe(400);
    expect(await runUsersCli(env, ['set', 'dave', '--plan', 'big'])).toMatchObject({ code: 0, stdout: 'dave is on plan big\n' });
    const answer = await chat(b, dave, { message: 'hi', model: 'm-big' });
    expect(answer.status).toBe(200);
    expect(answer.headers['x-ratelimit-limit']).toBe('100');
    expect(await usage(a, dave)).toMatchObject({ plan: 'big' });
    expect((await runUsersCli(env, ['list'])).stdout).toContain('dave\tpassword\tbig\t1 session open\n');
  });
});

describe('guests', () => {
  const from = (address: string) => ({ 'x-forwarded-for': address });
  const guestSession = async (app: AppProcess, address: string) => {
    const res = await call(suite.agent, app.url, 'POST', '/auth/guest', { headers: from(address) });
    expect(res.status).toBe(200);
    return ([res.headers['set-cookie'] ?? []].flat()[0] ?? '').split(';')[0] ?? '';
  };

  test('a guest who drops the cookie keeps the same budget: it is counted per address too', async () => {
    suite.standIn.setDefaults({ costUsd: null });
    const first = await guestSession(a, '203.0.113.7');
    expect((await chat(a, first, { message: 'one' }, from('203.0.113.7'))).status).toBe(200);
    expect((await chat(a, first, { message: 'two' }, from('203.0.113.7'))).status).toBe(200);
    expect(errorType(await chat(a, first, { message: 'three' }, from('203.0.113.7')))).toBe('budget_exceeded');
    // A new cookie, on the other instance: the address's budget is the same.
    const second = await guestSession(b, '203.0.113.7');
    expect(errorType(await chat(b, second, { message: 'again' }, from('203.0.113.7')))).toBe('budget_exceeded');
    expect(await usage(b, second)).toMatchObject({ plan: 'guest', budget: { limit_usd: 0.01, spent_usd: 0.01 } });
    // Another address is another budget.
    const elsewhere = await guestSession(b, '198.51.100.9');
    expect((await chat(b, elsewhere, { message: 'hello' }, from('198.51.100.9'))).status).toBe(200);
  });
});

describe('the spend report', () => {
  test('npm run users -- usage totals what Perf reported, call for call', async () => {
    await runUsersCli(env, ['add', 'erin', '--plan', 'big'], `${PASSWORD}\n`);
    await runUsersCli(env, ['add', 'fred', '--plan', 'big'], `${PASSWORD}\n`);
    const erin = await signIn(suite.agent, a.url, 'erin', PASSWORD);
    const fred = await signIn(suite.agent, b.url, 'fred', PASSWORD);
    const before = (await runUsersCli(env, ['usage', '--json'])).stdout;
    const costs = [0.000123, 0.0045, 0.000001, 0.0031];
    for (const [i, cost] of costs.entries()) {
      suite.standIn.enqueue({ costUsd: cost });
      expect((await chat(i % 2 === 0 ? a : b, i % 2 === 0 ? erin : fred, { message: `call ${i}` })).status).toBe(200);
    }
    suite.standIn.enqueue({ streamCostUsd: 0.0007 });
    expect((await chat(b, fred, { message: 'a stream', stream: true })).status).toBe(200);
    const report = JSON.parse((await runUsersCli(env, ['usage', '--json'])).stdout) as {
      users: { user: string; calls: number; reported_usd: number }[];
      totals: { reported_usd: number };
    };
    const reportedBefore = (JSON.parse(before) as { totals: { reported_usd: number } }).totals.reported_usd;
    // What Perf reported, in the ledger's micro-dollars (a reported cost rounds up, never down).
    const reportedMicros = suite.standIn.reportedCosts.reduce((sum, cost) => sum + costToMicros(cost), 0);
    expect(Math.round((report.totals.reported_usd - reportedBefore) * 1e6)).toBe(reportedMicros);
    expect(report.users.find((u) => u.user === 'fred')).toMatchObject({ calls: 3, reported_usd: 0.0083 });
    const table = (await runUsersCli(env, ['usage', '--top', '1'])).stdout;
    expect(table.split('\n')[1]).toMatch(/^user\s+plan\s+calls\s+reported\s+estimated\s+caps kept\s+total$/);
    expect(table.split('\n').filter((l) => l !== '')).toHaveLength(4);
  });
});

describe("the operator's ceiling on the whole bill", () => {
  test('100 concurrent calls from 20 users on two instances, against a global budget of 10 caps: Perf is called at most 10 times, the ceiling holds', async () => {
    const plansFile = path.join(tempDir(), 'plans.json');
    writeFileSync(
      plansFile,
      JSON.stringify({
        everyone: { requests_per_window: 1000, window_seconds: 60, daily_budget_usd: 1, max_cost_per_call: 0.01, models: '*' },
      }),
    );
    const globalEnv = {
      ...env,
      PLANS_FILE: plansFile,
      DEFAULT_PLAN: 'everyone',
      GLOBAL_DAILY_BUDGET_USD: '0.1',
      REDIS_KEY_PREFIX: 'perf-bff:global-test:',
      METRICS_TOKEN: 'global-metrics-token-0123456789',
    };
    delete (globalEnv as Record<string, string | undefined>).GUEST_PLAN;
    const [x, y] = await Promise.all([startApp(globalEnv), startApp(globalEnv)]);
    const users = Array.from({ length: 20 }, (_, i) => `g${i}`);
    for (const user of users) await runUsersCli(globalEnv, ['add', user], `${PASSWORD}\n`);
    const cookies = await Promise.all(users.map((user, i) => signIn(suite.agent, (i % 2 === 0 ? x : y).url, user, PASSWORD)));
    // Slow answers with no reported cost: every admitted call holds its whole cap till the end.
    suite.standIn.setDefaults({ costUsd: null, delayMs: 100 });
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => chat(i % 2 === 0 ? x : y, cookies[i % 20] ?? '', { message: `call ${i}` })),
    );
    const ok = answers.filter((r) => r.status === 200).length;
    expect(suite.standIn.requests.length).toBeLessThanOrEqual(10);
    expect(ok).toBe(suite.standIn.requests.length);
    expect(ok).toBeGreaterThan(0);
    const refused = answers.filter((r) => r.status !== 200);
    expect(new Set(refused.map(errorType))).toEqual(new Set(['service_budget_exhausted']));
    expect(Number(refused[0]?.headers['retry-after'])).toBeGreaterThan(0);
    const report = JSON.parse((await runUsersCli(globalEnv, ['usage', '--json'])).stdout) as { totals: { total_usd: number } };
    expect(report.totals.total_usd).toBeLessThanOrEqual(0.1);
    await waitFor('the ceiling announced in the log', () =>
      [...x.lines, ...y.lines].some((l) => l.includes('GLOBAL_DAILY_BUDGET_USD reached')),
    );
    const metrics = await call(suite.agent, x.url, 'GET', '/metrics', {
      headers: { authorization: 'Bearer global-metrics-token-0123456789' },
    });
    expect(metrics.text).toMatch(/^perf_bff_global_budget_used_ratio 1$/m);
  });
});
