import type { Agent } from 'undici';
import type { RedisProcess } from './harness';
import { call, productionEnv, signIn, startApp, startSuite, stopEverything, waitFor } from './harness';

const KEY = 'pk_test_tlssuite_0001';
const PASSWORD = 'tls test password';

let redis: RedisProcess;
let perfUrl: string;
let agent: Agent;

beforeAll(async () => {
  ({ redis, perfUrl, agent } = await startSuite({
    keys: [KEY],
    users: ['tess'],
    password: PASSWORD,
    redis: 'self-signed-tls',
    tlsRejectUnauthorized: false,
  }));
});

afterAll(stopEverything);

function env(extra: Record<string, string> = {}): Record<string, string> {
  return productionEnv({ PERF_API_KEY: KEY, PERF_BASE_URL: perfUrl, REDIS_URL: redis.url, ...extra });
}

describe('REDIS_URL with rediss:// against a self-signed certificate', () => {
  test('when REDIS_TLS_REJECT_UNAUTHORIZED is left at its default, the certificate is refused: /readyz 503, sign-in 503, and the reason is logged', async () => {
    const app = await startApp(env());
    const readyz = await call(agent, app.url, 'GET', '/readyz');
    expect(readyz.status).toBe(503);
    expect((await call(agent, app.url, 'GET', '/healthz')).status).toBe(200);
    const login = await call(agent, app.url, 'POST', '/auth/login', { body: { username: 'tess', password: PASSWORD } });
    expect(login.status).toBe(503);
    // Said as an error, once, naming the setting that fixes it.
    const errors = app.logs().filter((l) => l.level === 50 && String(l.msg).startsWith('redis:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toMatch(/not signed by a trusted authority.*set REDIS_TLS_REJECT_UNAUTHORIZED=false/);
    expect(errors[0]).toMatchObject({
      setting: 'REDIS_TLS_REJECT_UNAUTHORIZED',
      err: { message: expect.stringMatching(/self[- ]signed certificate/) as string },
    });
    app.child.kill('SIGTERM');
    expect((await app.exit).code).toBe(0);
  });

  test('when REDIS_TLS_REJECT_UNAUTHORIZED=false, the connection works and the app warns that the certificate is not verified', async () => {
    const app = await startApp(env({ REDIS_TLS_REJECT_UNAUTHORIZED: 'false' }));
    await waitFor('/readyz 200', async () => (await call(agent, app.url, 'GET', '/readyz')).status === 200, 5000);
    const cookie = await signIn(agent, app.url, 'tess', PASSWORD);
    const chat = await call(agent, app.url, 'POST', '/api/chat', { cookie, body: { message: 'over tls' } });
    expect(chat.status).toBe(200);
    expect(app.logs().some((l) => l.level === 40 && String(l.msg).includes('REDIS_TLS_REJECT_UNAUTHORIZED=false'))).toBe(true);
    app.child.kill('SIGTERM');
    expect((await app.exit).code).toBe(0);
  });

  test('when the certificate is trusted (NODE_EXTRA_CA_CERTS) the default setting verifies it and connects', async () => {
    const app = await startApp({ ...env(), NODE_EXTRA_CA_CERTS: redis.cert ?? '' });
    await waitFor('/readyz 200', async () => (await call(agent, app.url, 'GET', '/readyz')).status === 200, 5000);
    expect(app.logs().some((l) => String(l.msg).includes('REDIS_TLS_REJECT_UNAUTHORIZED=false'))).toBe(false);
    app.child.kill('SIGTERM');
    expect((await app.exit).code).toBe(0);
  });
});
