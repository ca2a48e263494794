import { MemorySessionStore } from '../src/stores/memory-session-store';
import type { SessionData } from 'express-session';

const session = (n: number) => ({ cookie: { originalMaxAge: 1000 }, user: { username: `u${n}` } }) as unknown as SessionData;

function get(store: MemorySessionStore, sid: string): Promise<SessionData | null | undefined> {
  return new Promise((resolve) => store.get(sid, (_err, s) => resolve(s)));
}

describe('memory session store', () => {
  test('is bounded: past maxSessions the least recently used go first', async () => {
    const store = new MemorySessionStore({ maxSessions: 3, ttlSeconds: () => 60 });
    for (let i = 0; i < 3; i += 1) store.set(`s${i}`, session(i));
    await get(store, 's0'); // s0 is now the most recently used
    store.set('s3', session(3));
    expect(store.size).toBe(3);
    expect(await get(store, 's1')).toBeNull();
    expect((await get(store, 's0'))?.user).toEqual({ username: 'u0' });
  });

  test('expires sessions after their TTL', async () => {
    let now = 0;
    const store = new MemorySessionStore({ maxSessions: 10, ttlSeconds: () => 5, now: () => now });
    store.set('s', session(1));
    now = 4999;
    expect(await get(store, 's')).not.toBeNull();
    now = 5000;
    expect(await get(store, 's')).toBeNull();
    expect(store.size).toBe(0);
  });

  test('returns a copy: changing a loaded session does not change the stored one', async () => {
    const store = new MemorySessionStore({ maxSessions: 10, ttlSeconds: () => 60 });
    store.set('s', session(1));
    const loaded = await get(store, 's');
    if (loaded?.user) loaded.user.username = 'mallory';
    expect((await get(store, 's'))?.user).toEqual({ username: 'u1' });
  });
});
