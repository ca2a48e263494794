import supertest from 'supertest';
import { accountsOf, sessionIdOf, startHarness, twoInstances } from './helpers/harness';
import type { Harness } from './helpers/harness';

/**
 * Each instance keeps the sessions it has read in memory (Redis client-side caching). Redis
 * invalidates a cached session whenever anyone changes it: these tests change sessions through
 * one instance (or its stores, as the users CLI does) and read them through another.
 */
describe('cached sessions across two instances on one Redis', () => {
  let a: Harness;
  let b: Harness;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ a, b, close } = await twoInstances());
  });
  afterAll(() => close());

  const me = (h: Harness, cookie: string) => supertest(h.url).get('/auth/me').set('Cookie', cookie);
  const chat = (h: Harness, cookie: string) => supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: 'hi' });
  const accounts = accountsOf;
  const cacheSize = (h: Harness): number => h.composition.sessionRedis?.clientSideCache?.size() ?? 0;

  test('the session instance B has cached is served from its memory', async () => {
    const cookie = await a.sessionCookie();
    const before = cacheSize(b);
    await chat(b, cookie).expect(200);
    expect(cacheSize(b)).toBe(before + 1);
    const hits = () => b.composition.sessionRedis?.clientSideCache?.stats().hitCount ?? -1;
    const hitsBefore = hits();
    await chat(b, cookie).expect(200);
    expect(cacheSize(b)).toBe(before + 1);
    expect(hits()).toBe(hitsBefore + 1);
  });

  test('a user signed out on instance A is refused on the next request to B', async () => {
    const cookie = await a.sessionCookie('gina');
    await chat(b, cookie).expect(200);
    expect(await accounts(a).signOut('gina')).toBe(1);
    await chat(b, cookie).expect(401);
    await me(b, cookie).expect(401);
  });

  test('a sign-out through A ends the session on B at once', async () => {
    const cookie = await a.sessionCookie();
    await me(b, cookie).expect(200);
    await supertest(a.url).post('/auth/logout').set('Cookie', cookie).set('Origin', a.url).expect(204);
    await me(b, cookie).expect(401);
  });

  test('a removed user and a changed password end the sessions B had cached', async () => {
    const removed = await a.sessionCookie('hugo');
    const changed = await a.sessionCookie('iris');
    await me(b, removed).expect(200);
    await me(b, changed).expect(200);
    await accounts(a).remove('hugo');
    await accounts(a).setPassword('iris', 'an entirely new password');
    await me(b, removed).expect(401);
    await me(b, changed).expect(401);
  });

  test('a session rewritten through A is read as rewritten on B', async () => {
    const cookie = await a.sessionCookie('jules');
    const before = await me(b, cookie).expect(200);
    expect(before.body.user).toMatchObject({ username: 'jules' });
    const sid = sessionIdOf(cookie);
    const stored = await new Promise<Record<string, unknown>>((resolve, reject) =>
      a.stores.sessions.get(sid, (err, sess) => (err ? reject(err as Error) : resolve(sess as unknown as Record<string, unknown>))),
    );
    const user = stored.user as Record<string, unknown>;
    await new Promise<void>((resolve, reject) =>
      a.stores.sessions.set(sid, { ...stored, user: { ...user, name: 'Jules Renamed' } } as never, (err) =>
        err ? reject(err as Error) : resolve(),
      ),
    );
    const after = await me(b, cookie).expect(200);
    expect(after.body.user).toMatchObject({ username: 'jules', name: 'Jules Renamed' });
  });

  test('with REDIS_SESSION_CACHE=0 there is no session connection and sessions are read from Redis each time', async () => {
    const c = await startHarness({ mode: 'redis', prefix: a.prefix, env: { REDIS_SESSION_CACHE: '0' } });
    try {
      expect(c.composition.sessionRedis).toBeUndefined();
      const cookie = await a.sessionCookie();
      await me(c, cookie).expect(200);
      await supertest(a.url).post('/auth/logout').set('Cookie', cookie).set('Origin', a.url).expect(204);
      await me(c, cookie).expect(401);
    } finally {
      await c.close();
    }
  });
});
