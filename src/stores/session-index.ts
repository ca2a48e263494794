import type { Store } from 'express-session';
import { withDeadline } from '../infra/deadline';
import type { KeySchema } from './keys';
import { keysFor } from './store-redis';
import type { StoreRedis } from './store-redis';

/**
 * Which sessions each user has open, so that all of them can be ended at once: removing a user,
 * changing a password or signing a user out deletes their sessions from the session store
 * itself, and every instance sees them gone on the next request (no per-request check, no extra
 * round trip on the chat path).
 */
export interface SessionIndex {
  /** Remembers a user's new session until its absolute expiry (epoch ms). */
  add(user: string, sid: string, expiresAt: number): Promise<void>;
  remove(user: string, sid: string): Promise<void>;
  /** Ends every session of the user in the session store; returns how many were open. */
  revokeAll(user: string): Promise<number>;
  /** How many of the user's sessions are still open. */
  count(user: string): Promise<number>;
}

/*
 * One sorted set per user: members are session ids, scores their absolute expiry. Ending them is
 * three steps rather than one script (a session key and the set may live on different cluster
 * nodes): read the ids, delete those sessions, then forget exactly those ids, so that a session
 * added meanwhile stays indexed.
 */
export class RedisSessionIndex implements SessionIndex {
  private readonly keys: KeySchema;

  constructor(
    private readonly redis: StoreRedis,
    prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = keysFor(redis, prefix);
  }

  private key(user: string): string {
    return this.keys.sessionIndex(user);
  }

  private sessionKey(sid: string): string {
    return this.keys.session(sid);
  }

  async add(user: string, sid: string, expiresAt: number): Promise<void> {
    const key = this.key(user);
    const write = this.redis
      .multi()
      .zAdd(key, { score: expiresAt, value: sid })
      .zRemRangeByScore(key, '-inf', this.now())
      // The set lives as long as its longest session: NX for a new set, GT for a later session.
      .pExpireAt(key, expiresAt, 'NX')
      .pExpireAt(key, expiresAt, 'GT')
      .exec();
    await withDeadline(write, 'session index');
  }

  async remove(user: string, sid: string): Promise<void> {
    await withDeadline(this.redis.zRem(this.key(user), sid), 'session index');
  }

  async revokeAll(user: string): Promise<number> {
    const sids = await withDeadline(this.redis.zRange(this.key(user), 0, -1), 'session index');
    if (sids.length === 0) return 0;
    const deleted = await withDeadline(Promise.all(sids.map((sid) => this.redis.del(this.sessionKey(sid)))), 'session revocation');
    await withDeadline(this.redis.zRem(this.key(user), sids), 'session index');
    return deleted.reduce((open, n) => open + n, 0);
  }

  async count(user: string): Promise<number> {
    const sids = await withDeadline(this.redis.zRange(this.key(user), 0, -1), 'session index');
    const alive = await withDeadline(Promise.all(sids.map((sid) => this.redis.exists(this.sessionKey(sid)))), 'session index');
    const ended = sids.filter((_sid, i) => alive[i] === 0);
    if (ended.length > 0) await withDeadline(this.redis.zRem(this.key(user), ended), 'session index');
    return sids.length - ended.length;
  }
}

/** The same in one process, over the in-memory session store. */
export class MemorySessionIndex implements SessionIndex {
  private readonly byUser = new Map<string, Map<string, number>>();

  constructor(
    private readonly sessions: Store,
    private readonly now: () => number = Date.now,
  ) {}

  add(user: string, sid: string, expiresAt: number): Promise<void> {
    const open = this.byUser.get(user) ?? new Map<string, number>();
    for (const [id, until] of open) if (until <= this.now()) open.delete(id);
    open.set(sid, expiresAt);
    this.byUser.set(user, open);
    return Promise.resolve();
  }

  remove(user: string, sid: string): Promise<void> {
    this.byUser.get(user)?.delete(sid);
    return Promise.resolve();
  }

  async revokeAll(user: string): Promise<number> {
    const sids = [...(this.byUser.get(user)?.keys() ?? [])];
    const alive = await Promise.all(sids.map((sid) => this.exists(sid)));
    await Promise.all(sids.map((sid) => new Promise<void>((resolve) => this.sessions.destroy(sid, () => resolve()))));
    this.byUser.delete(user);
    return alive.filter(Boolean).length;
  }

  async count(user: string): Promise<number> {
    const sids = [...(this.byUser.get(user)?.keys() ?? [])];
    return (await Promise.all(sids.map((sid) => this.exists(sid)))).filter(Boolean).length;
  }

  private exists(sid: string): Promise<boolean> {
    return new Promise((resolve) => this.sessions.get(sid, (_err, sess) => resolve(sess !== null && sess !== undefined)));
  }
}
