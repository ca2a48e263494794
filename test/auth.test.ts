import supertest from 'supertest';
import { startHarness, modes, PASSWORD } from './helpers/harness';
import type { Harness } from './helpers/harness';

function cookieOf(res: supertest.Response): string {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  return header?.[0] ?? '';
}

describe.each(modes())('sign-in and sessions (%s stores)', (mode) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode });
    await h.addUser('alice');
  });
  afterAll(() => h.close());

  test('when the password is right, answers 200 with the user and an HttpOnly SameSite=Strict cookie', async () => {
    const res = await supertest(h.url).post('/auth/login').send({ username: 'alice', password: PASSWORD }).expect(200);
    expect(res.body).toEqual({ user: { username: 'alice' } });
    const cookie = cookieOf(res);
    expect(cookie).toMatch(/^perf-bff\.sid=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/); // development over http
  });

  test('when the username differs only in case, it is the same user', async () => {
    await supertest(h.url).post('/auth/login').send({ username: 'ALICE', password: PASSWORD }).expect(200);
  });

  test('a wrong password and an unknown user get the same 401 invalid_credentials', async () => {
    const wrong = await supertest(h.url).post('/auth/login').send({ username: 'alice', password: 'nope-nope' }).expect(401);
    const unknown = await supertest(h.url).post('/auth/login').send({ username: 'nobody', password: 'nope-nope' }).expect(401);
    expect(wrong.body.error.type).toBe('invalid_credentials');
    expect(unknown.body.error.type).toBe('invalid_credentials');
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  test('when the body is not {username, password}, answers 400 invalid_request', async () => {
    const res = await supertest(h.url).post('/auth/login').send({ username: 'alice' }).expect(400);
    expect(res.body.error.type).toBe('invalid_request');
  });

  test('signing in regenerates the session id (no fixation)', async () => {
    const agent = h.agent();
    const first = await agent.post('/auth/login').send({ username: 'alice', password: PASSWORD }).expect(200);
    const second = await agent.post('/auth/login').send({ username: 'alice', password: PASSWORD }).expect(200);
    expect(cookieOf(first)).not.toBe('');
    expect(cookieOf(second).split(';')[0]).not.toBe(cookieOf(first).split(';')[0]);
    // The pre-login id is dead.
    await supertest(h.url)
      .get('/auth/me')
      .set('Cookie', cookieOf(first).split(';')[0] ?? '')
      .expect(401);
  });

  test('GET /auth/me names the user and when the session expires', async () => {
    const agent = await h.signedIn('bob');
    const res = await agent.get('/auth/me').expect(200);
    expect(res.body.user).toEqual({ username: 'bob' });
    expect(Date.parse(res.body.session.expires_at)).toBeGreaterThan(Date.now());
  });

  test('without a session, /auth/me answers 401 unauthorized', async () => {
    const res = await supertest(h.url).get('/auth/me').expect(401);
    expect(res.body.error).toMatchObject({ type: 'unauthorized' });
    expect(typeof res.body.error.request_id).toBe('string');
  });

  test('when the cookie is forged, answers 401', async () => {
    await supertest(h.url).get('/auth/me').set('Cookie', 'perf-bff.sid=s%3Aforged.c2lnbmF0dXJl').expect(401);
  });

  test('logout answers 204, clears the cookie and deletes the session in the store', async () => {
    const agent = h.agent();
    const login = await agent.post('/auth/login').send({ username: 'alice', password: PASSWORD }).expect(200);
    const stolen = cookieOf(login).split(';')[0] ?? '';
    const res = await agent.post('/auth/logout').expect(204);
    expect(cookieOf(res)).toMatch(/perf-bff\.sid=;/);
    // Replaying the old cookie after logout gets nothing: the session is gone from the store.
    await supertest(h.url).get('/auth/me').set('Cookie', stolen).expect(401);
  });

  test('repeated failures for one username and IP are throttled with 429 too_many_attempts', async () => {
    await h.addUser('carol');
    for (let i = 0; i < h.config.loginMaxFailures; i += 1) {
      await supertest(h.url).post('/auth/login').send({ username: 'carol', password: 'wrong-wrong' }).expect(401);
    }
    const blocked = await supertest(h.url).post('/auth/login').send({ username: 'carol', password: PASSWORD }).expect(429);
    expect(blocked.body.error.type).toBe('too_many_attempts');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.body.error.retry_after).toBe(Number(blocked.headers['retry-after']));
    // Another user is not affected.
    await supertest(h.url).post('/auth/login').send({ username: 'alice', password: PASSWORD }).expect(200);
  });

  test('a successful sign-in clears the failure count', async () => {
    await h.addUser('dave');
    for (let round = 0; round < 3; round += 1) {
      for (let i = 0; i < h.config.loginMaxFailures - 1; i += 1) {
        await supertest(h.url).post('/auth/login').send({ username: 'dave', password: 'wrong-wrong' }).expect(401);
      }
      await supertest(h.url).post('/auth/login').send({ username: 'dave', password: PASSWORD }).expect(200);
    }
  });
});

describe.each(modes())('sign-in attempts per IP (%s stores)', (mode) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode, env: { LOGIN_MAX_FAILURES_PER_IP: '3' } });
    await h.addUser('erin');
  });
  afterAll(() => h.close());

  test('failures with ever new usernames from one IP are throttled; successes do not count', async () => {
    for (let i = 0; i < 5; i += 1) await supertest(h.url).post('/auth/login').send({ username: 'erin', password: PASSWORD }).expect(200);
    for (let i = 0; i < 3; i += 1) {
      await supertest(h.url)
        .post('/auth/login')
        .send({ username: `nobody${i}`, password: 'guess-guess' })
        .expect(401);
    }
    const blocked = await supertest(h.url).post('/auth/login').send({ username: 'someone-else', password: 'guess-guess' }).expect(429);
    expect(blocked.body.error.type).toBe('too_many_attempts');
  });
});

describe('session cookie in production', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { NODE_ENV: 'production' } });
    await h.addUser('alice');
  });
  afterAll(() => h.close());

  test('behind one proxy saying https, the cookie is __Host- prefixed, Secure, HttpOnly, SameSite=Strict, Path=/', async () => {
    const res = await supertest(h.url)
      .post('/auth/login')
      .set('X-Forwarded-Proto', 'https')
      .send({ username: 'alice', password: PASSWORD })
      .expect(200);
    const cookie = cookieOf(res);
    expect(cookie).toMatch(/^__Host-perf-bff\.sid=/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Domain=/);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
  });

  test('over plain http with no proxy header, no Secure cookie is sent', async () => {
    const res = await supertest(h.url).post('/auth/login').send({ username: 'alice', password: PASSWORD }).expect(200);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe.each(modes())('session timeouts (%s stores)', (mode) => {
  let clock = Date.now();
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      mode,
      now: () => clock,
      env: { SESSION_IDLE_TIMEOUT_SECONDS: '600', SESSION_ABSOLUTE_TIMEOUT_SECONDS: '3600' },
    });
  });
  afterAll(() => h.close());

  test('when the session has been idle longer than the idle timeout, answers 401', async () => {
    const agent = await h.signedIn();
    clock += 599_000;
    await agent.get('/auth/me').expect(200);
    clock += 601_000;
    await agent.get('/auth/me').expect(401);
  });

  test('activity keeps a session alive, but never past the absolute timeout', async () => {
    const agent = await h.signedIn();
    for (let i = 0; i < 11; i += 1) {
      clock += 300_000;
      await agent.get('/auth/me').expect(200);
    }
    clock += 300_001;
    await agent.get('/auth/me').expect(401);
  });

  test('after a timeout the same browser can sign in again', async () => {
    await h.addUser('returning');
    const agent = h.agent();
    await agent.post('/auth/login').send({ username: 'returning', password: PASSWORD }).expect(200);
    clock += 601_000;
    await agent.get('/auth/me').expect(401);
    await agent.post('/api/chat').send({ message: 'hi' }).expect(401);
    await agent.post('/auth/login').send({ username: 'returning', password: PASSWORD }).expect(200);
    await agent.get('/auth/me').expect(200);
  });
});
