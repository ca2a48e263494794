import session from 'express-session';
import type { SessionData } from 'express-session';

interface Entry {
  json: string;
  expiresAt: number;
}

export interface MemorySessionStoreOptions {
  /** Sessions kept at most; the least recently used go first. */
  maxSessions: number;
  ttlSeconds: (sess: SessionData) => number;
  now?: () => number;
}

/**
 * The embedded default's session store: bounded and expiring, unlike express-session's
 * MemoryStore, which grows without limit. Sessions are stored as JSON, as Redis would, so the
 * code above it behaves the same in both modes.
 */
export class MemorySessionStore extends session.Store {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly options: MemorySessionStoreOptions) {
    super();
    this.now = options.now ?? Date.now;
  }

  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    const entry = this.entries.get(sid);
    if (entry === undefined || entry.expiresAt <= this.now()) {
      this.entries.delete(sid);
      callback(null, null);
      return;
    }
    // Re-insert to mark as recently used: Map iteration order is insertion order.
    this.entries.delete(sid);
    this.entries.set(sid, entry);
    callback(null, JSON.parse(entry.json) as SessionData);
  }

  override set(sid: string, sess: SessionData, callback?: (err?: unknown) => void): void {
    this.entries.delete(sid);
    this.entries.set(sid, { json: JSON.stringify(sess), expiresAt: this.now() + this.options.ttlSeconds(sess) * 1000 });
    this.evict();
    callback?.();
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.entries.delete(sid);
    callback?.();
  }

  override touch(sid: string, sess: SessionData, callback?: () => void): void {
    const entry = this.entries.get(sid);
    if (entry !== undefined) entry.expiresAt = this.now() + this.options.ttlSeconds(sess) * 1000;
    callback?.();
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(): void {
    const now = this.now();
    for (const [sid, entry] of this.entries) {
      if (this.entries.size <= this.options.maxSessions && entry.expiresAt > now) break;
      this.entries.delete(sid);
    }
  }
}
