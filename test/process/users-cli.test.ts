import { call, productionEnv, runUsersCli, signIn, startApp, startSuite, stopEverything } from './harness';
import type { AppProcess, Suite } from './harness';

/* The operator's revocation tool, as the operator runs it: the users CLI against two running instances. */

const KEY = 'pk_test_userscli_0001';
const PASSWORD = 'users cli password';

let suite: Suite;
let a: AppProcess;
let b: AppProcess;
let env: Record<string, string>;

beforeAll(async () => {
  suite = await startSuite({ keys: [KEY] });
  env = productionEnv({ PERF_API_KEY: KEY, PERF_BASE_URL: suite.perfUrl, REDIS_URL: suite.redis.url });
  [a, b] = await Promise.all([startApp(env), startApp(env)]);
});
afterAll(stopEverything);

const status = async (app: AppProcess, cookie: string) => (await call(suite.agent, app.url, 'GET', '/auth/me', { cookie })).status;
const chat = async (app: AppProcess, cookie: string) =>
  (await call(suite.agent, app.url, 'POST', '/api/chat', { cookie, body: { message: 'hi' } })).status;

test("`users remove` ends the user's sessions on every instance before it returns", async () => {
  expect((await runUsersCli(env, ['add', 'alice'], `${PASSWORD}\n`)).stdout).toBe('added alice\n');
  const [onA, onB] = [await signIn(suite.agent, a.url, 'alice', PASSWORD), await signIn(suite.agent, b.url, 'alice', PASSWORD)];
  expect(await chat(a, onA)).toBe(200);
  const removed = await runUsersCli(env, ['remove', 'alice']);
  expect(removed).toMatchObject({ code: 0, stdout: 'removed alice; ended 2 sessions\n' });
  for (const app of [a, b]) {
    expect(await status(app, onA)).toBe(401);
    expect(await chat(app, onB)).toBe(401);
  }
});

test('`users add` on an existing user changes the password and ends the old sessions', async () => {
  await runUsersCli(env, ['add', 'bob'], `${PASSWORD}\n`);
  const cookie = await signIn(suite.agent, a.url, 'bob', PASSWORD);
  const changed = await runUsersCli(env, ['add', 'bob'], 'a different password\n');
  expect(changed).toMatchObject({ code: 0, stdout: 'updated bob; ended 1 session\n' });
  expect(await status(b, cookie)).toBe(401);
  expect(await status(a, await signIn(suite.agent, a.url, 'bob', 'a different password'))).toBe(200);
});

test('`users signout` ends every session and leaves the account; `users list` counts open sessions', async () => {
  await runUsersCli(env, ['add', 'carol'], `${PASSWORD}\n`);
  const first = await signIn(suite.agent, a.url, 'carol', PASSWORD);
  await signIn(suite.agent, b.url, 'carol', PASSWORD);
  expect((await runUsersCli(env, ['list'])).stdout).toContain('carol\tpassword\tdefault\t2 sessions open\n');
  expect(await runUsersCli(env, ['signout', 'carol'])).toMatchObject({ code: 0, stdout: 'ended 2 sessions of carol\n' });
  expect(await status(a, first)).toBe(401);
  expect((await runUsersCli(env, ['list'])).stdout).toContain('carol\tpassword\tdefault\t0 sessions open\n');
  expect(await status(b, await signIn(suite.agent, b.url, 'carol', PASSWORD))).toBe(200);
});
