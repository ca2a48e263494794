import supertest from 'supertest';
import type { UserStore } from '../src/stores/user-store';
import { accountsOf, modes, PASSWORD, startHarness, twoInstances } from './helpers/harness';
import type { Harness } from './helpers/harness';

const me = (h: Harness, cookie: string) => supertest(h.url).get('/auth/me').set('Cookie', cookie);
const chat = (h: Harness, cookie: string) => supertest(h.url).post('/api/chat').set('Cookie', cookie).send({ message: 'hi' });

async function signIn(h: Harness, username: string, password = PASSWORD): Promise<string> {
  const res = await supertest(h.url).post('/auth/login').send({ username, password }).expect(200);
  return ((res.headers['set-cookie'] as unknown as string[])[0] ?? '').split(';')[0] ?? '';
}

describe.each(modes())('revocation (%s stores)', (mode) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode });
  });
  afterAll(() => h.close());

  test("signing a user out ends every one of their sessions, and nobody else's", async () => {
    await h.addUser('alice');
    await h.addUser('bob');
    const [laptop, phone, bobs] = [await signIn(h, 'alice'), await signIn(h, 'alice'), await signIn(h, 'bob')];
    expect(await accountsOf(h).signOut('alice')).toBe(2);
    for (const cookie of [laptop, phone]) {
      await me(h, cookie).expect(401);
      await chat(h, cookie).expect(401);
    }
    await me(h, bobs).expect(200);
    expect(h.standIn.requests).toHaveLength(0);
  });

  test('a signed-out user can sign in again', async () => {
    await h.addUser('carol');
    await signIn(h, 'carol');
    await accountsOf(h).signOut('carol');
    await me(h, await signIn(h, 'carol')).expect(200);
  });

  test('a changed password ends the old sessions; the new password works, the old one no longer does', async () => {
    await h.addUser('dave');
    const before = await signIn(h, 'dave');
    expect(await accountsOf(h).setPassword('dave', 'a brand new password')).toEqual({ created: false, endedSessions: 1 });
    await me(h, before).expect(401);
    await supertest(h.url).post('/auth/login').send({ username: 'dave', password: PASSWORD }).expect(401);
    await me(h, await signIn(h, 'dave', 'a brand new password')).expect(200);
  });

  test('a removed user is signed out at once and cannot sign in', async () => {
    await h.addUser('erin');
    const cookie = await signIn(h, 'erin');
    expect(await accountsOf(h).remove('erin')).toEqual({ removed: true, endedSessions: 1 });
    await me(h, cookie).expect(401);
    await supertest(h.url).post('/auth/login').send({ username: 'erin', password: PASSWORD }).expect(401);
  });

  test('the list shows each user and how many sessions they have open; signing out takes one off', async () => {
    await h.addUser('frank');
    const one = await signIn(h, 'frank');
    await signIn(h, 'frank');
    await supertest(h.url).post('/auth/logout').set('Cookie', one).expect(204);
    const frank = (await accountsOf(h).list()).find((a) => a.username === 'frank');
    expect(frank).toEqual({ username: 'frank', kind: 'password', openSessions: 1 });
  });
});

describe('revocation across two instances sharing Redis', () => {
  let a: Harness;
  let b: Harness;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ a, b, close } = await twoInstances());
  });
  afterAll(() => close());

  test('a user removed through one instance gets 401 on the next request to either', async () => {
    await a.addUser('gina');
    const onA = await signIn(a, 'gina');
    const onB = await signIn(b, 'gina');
    await chat(a, onA).expect(200);
    await accountsOf(b).remove('gina');
    for (const [h, cookie] of [
      [a, onA],
      [b, onB],
      [b, onA],
      [a, onB],
    ] as const) {
      await me(h, cookie).expect(401);
      await chat(h, cookie).expect(401);
    }
  });
});

describe('a password changed while a sign-in with the old one is being checked', () => {
  test('the new session is ended before the sign-in answers', async () => {
    let reads = 0;
    let changed: ((users: UserStore) => Promise<void>) | undefined;
    const h = await startHarness({
      mode: 'memory',
      // The second read of hank's record is the sign-in's last check: the password changes just before it.
      storeOverrides: (stores) => ({
        users: {
          ...stores.users,
          get: async (name: string) => {
            if (name === 'hank' && (reads += 1) === 2) await changed?.(stores.users);
            return stores.users.get(name);
          },
          put: (user) => stores.users.put(user),
          remove: (name) => stores.users.remove(name),
          list: () => stores.users.list(),
        },
      }),
    });
    try {
      await h.addUser('hank');
      changed = async () => {
        await accountsOf(h).setPassword('hank', 'changed meanwhile!');
      };
      const res = await supertest(h.url).post('/auth/login').send({ username: 'hank', password: PASSWORD }).expect(401);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(await h.stores.sessionIndex.count('hank')).toBe(0);
    } finally {
      await h.close();
    }
  });
});
