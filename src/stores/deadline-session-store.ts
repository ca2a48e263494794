import session from 'express-session';
import type { SessionData, Store } from 'express-session';
import { withDeadline } from '../infra/deadline';

type Callback<T = void> = (err: unknown, value?: T) => void;

/** Wraps the Redis session store so that no call waits past the store deadline (see infra/deadline.ts). */
export class DeadlineSessionStore extends session.Store {
  constructor(private readonly inner: Store) {
    super();
  }

  private run<T>(what: string, call: (done: Callback<T>) => void, callback: Callback<T> | undefined): void {
    const work = new Promise<T | undefined>((resolve, reject) => {
      call((err, value) => {
        if (err !== undefined && err !== null) reject(err instanceof Error ? err : new Error('session store error'));
        else resolve(value);
      });
    });
    withDeadline(work, `session store ${what}`).then(
      (value) => callback?.(null, value),
      (err: unknown) => callback?.(err),
    );
  }

  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    this.run<SessionData | null>('get', (done) => this.inner.get(sid, done), callback);
  }

  override set(sid: string, sess: SessionData, callback?: (err?: unknown) => void): void {
    this.run('set', (done) => this.inner.set(sid, sess, done), callback);
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.run('destroy', (done) => this.inner.destroy(sid, done), callback);
  }

  // No touch(): the Redis store's touches are off (sessionTimeouts() rewrites a session when its
  // activity mark is stale), and without the method express-session ends each answer at once
  // instead of after a touch that does nothing.
}
