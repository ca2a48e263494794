import type { Logger } from '../infra/logger';

/** First wait after a failure; doubled each time up to MAX_DELAY_MS. */
const FIRST_DELAY_MS = 200;
const MAX_DELAY_MS = 1000;
/** Given up after this long: the reservation then stays charged (money fails closed). */
const GIVE_UP_AFTER_MS = 10 * 60_000;
/** At most this many waiting at once; more are given up at once. */
const MAX_PENDING = 10_000;

interface Pending {
  attempt: () => Promise<void>;
  since: number;
  delayMs: number;
}

/**
 * Settlements that a Redis slot could not take (its master failing over, a node out of reach),
 * tried again until it can. Settling is idempotent by reservation id (an id already closed is
 * ignored), so a retry can never charge twice, and a settlement that did reach Redis before its
 * answer was lost is simply found closed. Without this, a reservation left open by a failover would
 * stay charged at its whole cap: the money would be safe, the user overcharged.
 *
 * The queue lives in this process: if the process ends first, the reservations stay charged.
 */
export class SettleRetries {
  private readonly pending = new Map<string, Pending>();
  /** Since the queue last was empty: for one warning when it fills and one line when it drains, not one per settlement. */
  private episode: { since: number; settled: number } | undefined;
  constructor(private readonly logger: Logger | undefined) {}

  /** How many settlements wait for their slot. */
  get size(): number {
    return this.pending.size;
  }

  /** `key` names the reservation and the ledger, so the same settlement is never queued twice. */
  add(key: string, attempt: () => Promise<void>, reason: unknown): void {
    if (this.pending.has(key)) return;
    if (this.pending.size >= MAX_PENDING) {
      this.logger?.error({ pending: this.pending.size }, 'too many settlements waiting for Redis: this one stays charged');
      return;
    }
    if (this.episode === undefined) {
      this.episode = { since: Date.now(), settled: 0 };
      this.logger?.warn({ err: { message: (reason as Error).message } }, 'settlements could not reach their Redis slot; retrying them');
    }
    const entry: Pending = { attempt, since: Date.now(), delayMs: FIRST_DELAY_MS };
    this.pending.set(key, entry);
    this.schedule(key, entry);
  }

  private schedule(key: string, entry: Pending): void {
    setTimeout(() => void this.retry(key, entry), entry.delayMs).unref();
  }

  private async retry(key: string, entry: Pending): Promise<void> {
    try {
      await entry.attempt();
      this.done(key, true);
    } catch (err) {
      if (Date.now() - entry.since >= GIVE_UP_AFTER_MS) {
        this.logger?.error({ err: { message: (err as Error).message } }, 'gave up on a settlement: the reservation stays charged');
        this.done(key, false);
        return;
      }
      entry.delayMs = Math.min(entry.delayMs * 2, MAX_DELAY_MS);
      this.schedule(key, entry);
    }
  }

  private done(key: string, settled: boolean): void {
    this.pending.delete(key);
    if (this.episode === undefined) return;
    if (settled) this.episode.settled += 1;
    if (this.pending.size > 0) return;
    this.logger?.info({ settled: this.episode.settled, waited_ms: Date.now() - this.episode.since }, 'deferred settlements recorded');
    this.episode = undefined;
  }
}
