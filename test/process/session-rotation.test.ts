import type { Agent } from 'undici';
import type { RedisProcess } from './harness';
import { addUserWithCli, call, productionEnv, signIn, startApp, startSuite, stopEverything } from './harness';

const KEY = 'pk_test_rotationsuite_0001';
const PASSWORD = 'alice rotation password';
const OLD_SECRET = 'old-secret-rotation-suite-0123456789abcdef';
const NEW_SECRET = 'new-secret-rotation-suite-fedcba9876543210';

let redis: RedisProcess;
let perfUrl: string;
let agent: Agent;

beforeAll(async () => {
  ({ redis, perfUrl, agent } = await startSuite({ keys: [KEY] }));
});

afterAll(stopEverything);

function env(sessionSecret: string): Record<string, string> {
  return productionEnv({ PERF_API_KEY: KEY, PERF_BASE_URL: perfUrl, REDIS_URL: redis.url, SESSION_SECRET: sessionSecret });
}

async function me(base: string, cookie: string): Promise<number> {
  return (await call(agent, base, 'GET', '/auth/me', { cookie })).status;
}

describe('users CLI and SESSION_SECRET rotation across restarts', () => {
  test('a user added with the users CLI (password on stdin) can sign in; /metrics is 404 when METRICS_TOKEN is unset', async () => {
    const added = await addUserWithCli(env(OLD_SECRET), 'alice', PASSWORD);
    expect(added).toMatchObject({ code: 0, stdout: 'added alice\n' });
    expect(added.stdout + added.stderr).not.toContain(PASSWORD);

    const app = await startApp(env(OLD_SECRET));
    const cookie = await signIn(agent, app.url, 'alice', PASSWORD);
    expect(await me(app.url, cookie)).toBe(200);
    const metrics = await call(agent, app.url, 'GET', '/metrics');
    expect(metrics.status).toBe(404);
    expect((metrics.json() as { error: { type: string } }).error.type).toBe('not_found');
    app.child.kill('SIGTERM');
    expect((await app.exit).code).toBe(0);
  });

  test('when SESSION_SECRET becomes "new,old" at a restart, sessions signed with the old secret stay valid and new ones are signed with the new secret; dropping "old" later ends only the old ones', async () => {
    const before = await startApp(env(OLD_SECRET));
    const oldCookie = await signIn(agent, before.url, 'alice', PASSWORD);
    before.child.kill('SIGTERM');
    expect((await before.exit).code).toBe(0);

    const rotating = await startApp(env(`${NEW_SECRET},${OLD_SECRET}`));
    expect(await me(rotating.url, oldCookie)).toBe(200);
    const newCookie = await signIn(agent, rotating.url, 'alice', PASSWORD);
    rotating.child.kill('SIGTERM');
    expect((await rotating.exit).code).toBe(0);

    const after = await startApp(env(NEW_SECRET));
    expect(await me(after.url, newCookie)).toBe(200);
    expect(await me(after.url, oldCookie)).toBe(401);
    after.child.kill('SIGTERM');
    expect((await after.exit).code).toBe(0);
  });
});
