import type { Agent } from 'undici';
import { FlowBrowser, OIDC_CLIENT, startTestProvider } from '../helpers/oidc';
import type { TestProvider } from '../helpers/oidc';
import { call, freePort, runUsersCli, startApp, startSuite, stopEverything, TEST_SECRET, waitFor } from './harness';
import type { AppProcess, Suite } from './harness';

/*
 * Sign-in with OpenID Connect, end to end against a real provider (oidc-provider on loopback) and
 * the real server process: the whole code flow with PKCE, and every way it can fail, each ending
 * on the page with its reason.
 */

const KEY = 'pk_test_oidcsuite_0001';

let suite: Suite;
let provider: TestProvider;
let app: AppProcess;
let agent: Agent;

/** The settings of an app that signs in with the test provider (development mode: plain http). */
function oidcEnv(port: number, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: 'info',
    REDIS_URL: suite.redis.url,
    PERF_API_KEY: KEY,
    PERF_BASE_URL: suite.perfUrl,
    OIDC_ISSUER: provider.issuer,
    OIDC_CLIENT_ID: OIDC_CLIENT.id,
    OIDC_CLIENT_SECRET: OIDC_CLIENT.secret,
    OIDC_PROVIDER_NAME: 'Test IdP',
    ...overrides,
  };
}

beforeAll(async () => {
  suite = await startSuite({ keys: [KEY] });
  agent = suite.agent;
  const port = await freePort();
  provider = await startTestProvider({ appUrl: `http://127.0.0.1:${port}` });
  app = await startApp(oidcEnv(port));
});
afterAll(async () => {
  await provider.close();
  await stopEverything();
});

/** Through the provider's login and consent pages, up to (not into) our callback. */
async function toCallback(browser: FlowBrowser, base: string, login: string): Promise<URL> {
  const start = await browser.get(`${base}/auth/oidc/login`);
  expect(start.status).toBe(303);
  const atLogin = await browser.follow(start.location ?? '', (u) => u.pathname.startsWith('/interaction/'));
  const afterLogin = await browser.signInAtProvider(atLogin, login);
  const atConsent = await browser.follow(afterLogin.href, (u) => u.pathname.startsWith('/interaction/'));
  const afterConsent = await browser.consentAtProvider(atConsent);
  return browser.follow(afterConsent.href, (u) => u.pathname === '/auth/oidc/callback');
}

const sessionCookie = (browser: FlowBrowser, base: string) => {
  const value = browser.cookie(new URL(base).host, 'perf-bff.sid');
  return value === undefined ? undefined : `perf-bff.sid=${value}`;
};

describe('sign-in with an OpenID Connect provider', () => {
  test('the code flow signs in: a session cookie, the user namespaced by issuer and sub, no token in the browser', async () => {
    const browser = new FlowBrowser();
    const callback = await toCallback(browser, app.url, 'alice');
    expect(callback.searchParams.get('code')).not.toBeNull();
    const landed = await browser.get(callback.href);
    expect(landed).toMatchObject({ status: 303, location: '/' });
    const cookie = sessionCookie(browser, app.url);
    expect(cookie).toBeDefined();
    // The transaction cookie is used up.
    expect(browser.cookie(new URL(app.url).host, 'perf-bff.oidc')).toBeUndefined();
    const me = await call(agent, app.url, 'GET', '/auth/me', { cookie });
    expect(me.status).toBe(200);
    const user = (me.json() as { user: { username: string; email: string; name: string } }).user;
    expect(user).toEqual({
      username: expect.stringMatching(/^oidc:[0-9a-f]{8}:alice$/) as string,
      email: 'alice@example.com',
      name: 'User alice',
    });
    expect(me.text).not.toMatch(/eyJ/); // no JWT of any kind
    const chat = await call(agent, app.url, 'POST', '/api/chat', { cookie, body: { message: 'hello from oidc' } });
    expect(chat.status).toBe(200);
  });

  test('the page learns which sign-in methods exist', async () => {
    const methods = await call(agent, app.url, 'GET', '/auth/methods');
    expect(methods.json()).toEqual({ password: true, guest: false, oidc: { name: 'Test IdP', login_url: '/auth/oidc/login' } });
  });

  test("sign-out ends the session and hands back the provider's logout URL", async () => {
    const browser = new FlowBrowser();
    await browser.get((await toCallback(browser, app.url, 'bob')).href);
    const cookie = sessionCookie(browser, app.url);
    const out = await call(agent, app.url, 'POST', '/auth/logout', { cookie });
    expect(out.status).toBe(200);
    const endSession = new URL((out.json() as { end_session_url: string }).end_session_url);
    expect(`${endSession.origin}${endSession.pathname}`).toBe(`${provider.issuer}/session/end`);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${app.url}/`);
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect((await call(agent, app.url, 'GET', '/auth/me', { cookie })).status).toBe(401);
  });

  test("`users signout` ends an OIDC user's sessions; `users list` shows them with their email", async () => {
    const browser = new FlowBrowser();
    await browser.get((await toCallback(browser, app.url, 'carol')).href);
    const cookie = sessionCookie(browser, app.url);
    const env = oidcEnv(0);
    const listed = await runUsersCli(env, ['list']);
    const line = listed.stdout.split('\n').find((l) => l.includes('carol@example.com')) ?? '';
    expect(line).toMatch(/^oidc:[0-9a-f]{8}:carol <carol@example.com>\toidc\tdefault\t1 session open$/);
    const id = line.split(' ')[0] ?? '';
    const out = await runUsersCli(env, ['signout', id]);
    expect(out).toMatchObject({ code: 0, stdout: `ended 1 session of ${id}\n` });
    expect((await call(agent, app.url, 'GET', '/auth/me', { cookie })).status).toBe(401);
  });
});

describe('a sign-in that fails ends on the page with its reason', () => {
  test('consent denied (cancelled at the provider): ?sign_in_error=denied', async () => {
    const browser = new FlowBrowser();
    const start = await browser.get(`${app.url}/auth/oidc/login`);
    const atLogin = await browser.follow(start.location ?? '', (u) => u.pathname.startsWith('/interaction/'));
    const callback = await browser.follow(`${atLogin.href}/abort`, (u) => u.pathname === '/auth/oidc/callback');
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(await browser.get(callback.href)).toMatchObject({ status: 303, location: '/?sign_in_error=denied' });
    expect(sessionCookie(browser, app.url)).toBeUndefined();
  });

  test('a callback whose state was changed: ?sign_in_error=invalid, and no session', async () => {
    const browser = new FlowBrowser();
    const callback = await toCallback(browser, app.url, 'dave');
    callback.searchParams.set('state', 'forged-state');
    expect(await browser.get(callback.href)).toMatchObject({ status: 303, location: '/?sign_in_error=invalid' });
    expect(sessionCookie(browser, app.url)).toBeUndefined();
  });

  test('a callback replayed after it was used: ?sign_in_error=expired', async () => {
    const browser = new FlowBrowser();
    const callback = await toCallback(browser, app.url, 'erin');
    expect((await browser.get(callback.href)).location).toBe('/');
    const replay = new FlowBrowser();
    expect(await replay.get(callback.href)).toMatchObject({ status: 303, location: '/?sign_in_error=expired' });
    expect((await browser.get(callback.href)).location).toBe('/?sign_in_error=expired');
  });

  test('a sign-in whose transaction lapsed (its cookie expired): ?sign_in_error=expired', async () => {
    const browser = new FlowBrowser();
    const callback = await toCallback(browser, app.url, 'frank');
    browser.dropCookie(new URL(app.url).host, 'perf-bff.oidc');
    expect(await browser.get(callback.href)).toMatchObject({ status: 303, location: '/?sign_in_error=expired' });
  });

  test('an answer naming another issuer: ?sign_in_error=invalid', async () => {
    const browser = new FlowBrowser();
    const callback = await toCallback(browser, app.url, 'gina');
    callback.searchParams.set('iss', 'https://evil.example');
    expect(await browser.get(callback.href)).toMatchObject({ status: 303, location: '/?sign_in_error=invalid' });
    expect(sessionCookie(browser, app.url)).toBeUndefined();
  });

  test('an email outside OIDC_ALLOWED_EMAIL_DOMAINS: ?sign_in_error=email_domain, and no session', async () => {
    const port = await freePort();
    const strict = await startTestProvider({ appUrl: `http://127.0.0.1:${port}` });
    try {
      const other = await startApp(oidcEnv(port, { OIDC_ISSUER: strict.issuer, OIDC_ALLOWED_EMAIL_DOMAINS: 'example.org' }));
      const browser = new FlowBrowser();
      const callback = await toCallback(browser, other.url, 'hank');
      expect(await browser.get(callback.href)).toMatchObject({ status: 303, location: '/?sign_in_error=email_domain' });
      expect(sessionCookie(browser, other.url)).toBeUndefined();
    } finally {
      await strict.close();
    }
  });

  test('a provider that cannot be reached: ?sign_in_error=provider_unavailable, and the error log names OIDC_ISSUER', async () => {
    const port = await freePort();
    const down = await startApp(oidcEnv(port, { OIDC_ISSUER: `http://127.0.0.1:${await freePort()}` }));
    const browser = new FlowBrowser();
    expect(await browser.get(`${down.url}/auth/oidc/login`)).toMatchObject({
      status: 303,
      location: '/?sign_in_error=provider_unavailable',
    });
    // The child's log line may reach us a moment after its answer.
    await waitFor('the discovery error in the log', () => down.lines.some((l) => l.includes('OIDC discovery failed: check OIDC_ISSUER')));
  });

  test('none of these answers is an error page: every refusal is a redirect to the page', async () => {
    const browser = new FlowBrowser();
    const nonsense = await browser.get(`${app.url}/auth/oidc/callback?code=x&state=y`);
    expect(nonsense).toMatchObject({ status: 303, location: '/?sign_in_error=expired' });
  });
});
