import supertest from 'supertest';
import { Accounts } from '../src/auth/accounts';
import { createPasswordHasher } from '../src/auth/passwords';
import { modes, PASSWORD, startHarness, TEST_SCRYPT } from './helpers/harness';
import type { Harness } from './helpers/harness';

/*
 * The first user of a new deployment (the release phase's ADMIN_USERNAME): a one-time password
 * that is good for one thing, choosing a password, within its validity; and POST /auth/password,
 * with which any password user changes theirs.
 */

const DAY = 24 * 3600 * 1000;

describe.each(modes())('the first user (%s stores)', (mode) => {
  let h: Harness;
  let now = Date.now();
  let accounts: Accounts;
  beforeAll(async () => {
    h = await startHarness({ mode, now: () => now, env: { LOGIN_MAX_FAILURES: '50' } });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    now = Date.now();
    for (const name of await h.stores.users.list()) await h.stores.users.remove(name);
    accounts = new Accounts(
      { users: h.stores.users, sessions: h.stores.sessionIndex, plans: h.stores.plans },
      createPasswordHasher(TEST_SCRYPT),
      new Set(h.config.plans.keys()),
    );
  });

  const cookieOf = (res: supertest.Response): string => ((res.headers['set-cookie'] as unknown as string[])[0] ?? '').split(';')[0] ?? '';
  const signIn = (username: string, password: string) => supertest(h.url).post('/auth/login').send({ username, password });
  const change = (cookie: string, body: object) => supertest(h.url).post('/auth/password').set('Cookie', cookie).send(body);

  test('is made only while there are no users, with a fresh 24-character password', async () => {
    const password = await accounts.createFirstUser('admin', DAY, now);
    expect(password).toMatch(/^[\w-]{24}$/);
    expect(await accounts.createFirstUser('admin', DAY, now)).toBeUndefined();
    expect(await accounts.createFirstUser('someone-else', DAY, now)).toBeUndefined();
    expect(await h.stores.users.list()).toEqual(['admin']);
  });

  test('signs in to choose a password and nothing else: chat and usage answer 403 password_change_required', async () => {
    const once = (await accounts.createFirstUser('admin', DAY, now)) ?? '';
    const login = await signIn('admin', once).expect(200);
    expect(login.body).toEqual({ user: { username: 'admin', must_change_password: true } });
    const cookie = cookieOf(login);
    const me = await supertest(h.url).get('/auth/me').set('Cookie', cookie).expect(200);
    expect(me.body.user).toEqual({ username: 'admin', must_change_password: true });
    const chat = await supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: 'hi' }).expect(403);
    expect(chat.body.error.type).toBe('password_change_required');
    await supertest(h.url).get('/api/usage').set('Cookie', cookie).expect(403);
    expect(h.standIn.requests).toHaveLength(0);
  });

  test('once a password is chosen: a new session that may chat, the one-time password dead, the new one working', async () => {
    const once = (await accounts.createFirstUser('admin', DAY, now)) ?? '';
    const cookie = cookieOf(await signIn('admin', once).expect(200));
    const changed = await change(cookie, { current_password: once, new_password: 'my own long password' }).expect(200);
    expect(changed.body).toEqual({ user: { username: 'admin' } });
    const fresh = cookieOf(changed);
    expect(fresh).not.toBe(cookie);
    // The session the one-time password opened is over; the new one may chat.
    await supertest(h.url).get('/auth/me').set('Cookie', cookie).expect(401);
    await supertest(h.url).post('/api/chat').set('Cookie', fresh).send({ message: 'hi' }).expect(200);
    expect((await supertest(h.url).get('/auth/me').set('Cookie', fresh).expect(200)).body.user).toEqual({ username: 'admin' });
    await signIn('admin', once).expect(401);
    await signIn('admin', 'my own long password').expect(200);
  });

  test('expires: after its 24 h the one-time password opens nothing, and the log says what to do', async () => {
    const once = (await accounts.createFirstUser('admin', DAY, now)) ?? '';
    now += DAY + 1000;
    const res = await signIn('admin', once).expect(401);
    expect(res.body.error.type).toBe('invalid_credentials');
    expect(h.logs.text).toContain('a sign-in with an expired one-time password');
    expect(h.logs.text).not.toContain(once);
  });

  test('a password the operator sets (`users add`) replaces the one-time one, and its restriction', async () => {
    await accounts.createFirstUser('admin', DAY, now);
    await accounts.setPassword('admin', 'set by the operator');
    const login = await signIn('admin', 'set by the operator').expect(200);
    expect(login.body).toEqual({ user: { username: 'admin' } });
    await supertest(h.url).post('/api/chat').set('Cookie', cookieOf(login)).send({ message: 'hi' }).expect(200);
  });
});

describe('POST /auth/password', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'redis', env: { LOGIN_MAX_FAILURES: '3', GUEST_PLAN: 'default' } });
  });
  afterAll(() => h.close());
  const change = (cookie: string, body: object) => supertest(h.url).post('/auth/password').set('Cookie', cookie).send(body);

  test('needs the current password, a new one of at least 8 characters, and a different one', async () => {
    const cookie = await h.sessionCookie('pat');
    expect((await change(cookie, { current_password: 'wrong one', new_password: 'a new password' }).expect(401)).body.error.type).toBe(
      'invalid_credentials',
    );
    await change(cookie, { current_password: PASSWORD, new_password: 'short' }).expect(400);
    await change(cookie, { current_password: PASSWORD, new_password: PASSWORD }).expect(400);
    await change(cookie, { current_password: PASSWORD, extra: 1, new_password: 'a new password' }).expect(400);
    await change(cookie, { current_password: PASSWORD, new_password: 'a new password' }).expect(200);
  });

  test("ends the user's other sessions", async () => {
    const first = await h.sessionCookie('quinn');
    const second =
      (
        (await supertest(h.url).post('/auth/login').send({ username: 'quinn', password: PASSWORD }).expect(200)).headers[
          'set-cookie'
        ] as unknown as string[]
      )[0]?.split(';')[0] ?? '';
    await change(first, { current_password: PASSWORD, new_password: 'quinn has a new one' }).expect(200);
    await supertest(h.url).get('/auth/me').set('Cookie', second).expect(401);
  });

  test('guessing the current password is throttled like a sign-in', async () => {
    const cookie = await h.sessionCookie('rae');
    for (let i = 0; i < 3; i += 1) await change(cookie, { current_password: `guess ${i}`, new_password: 'a new password' }).expect(401);
    const blocked = await change(cookie, { current_password: PASSWORD, new_password: 'a new password' }).expect(429);
    expect(blocked.body.error.type).toBe('too_many_attempts');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });

  test('signed out: 401; a guest (no password): 403', async () => {
    await supertest(h.url).post('/auth/password').send({ current_password: 'x', new_password: 'a new password' }).expect(401);
    const guest = await supertest(h.url).post('/auth/guest').expect(200);
    const cookie = ((guest.headers['set-cookie'] as unknown as string[])[0] ?? '').split(';')[0] ?? '';
    await change(cookie, { current_password: 'x', new_password: 'a new password' }).expect(403);
  });
});
