import type { BudgetStatus, Ledger, LedgerWindow, ReserveResult, SettleOutcome } from './ledger';
import { budgetOf } from './ledger';

interface Account {
  buckets: Map<number, number>;
  reservations: Map<string, { amount: number; bucket: number; at: number }>;
}

/**
 * The embedded default's ledger: the same rules as the Redis script, in one process.
 * JavaScript runs each method to completion, which gives the atomicity Lua gives in Redis.
 */
export class MemoryLedger implements Ledger {
  private readonly accounts = new Map<string, Account>();
  private readonly budget: number;

  constructor(
    limitMicros: number,
    private readonly window: LedgerWindow,
    private readonly now: () => number = Date.now,
    private readonly maxAccounts = 100_000,
  ) {
    this.budget = budgetOf(limitMicros);
  }

  reserve(user: string, id: string, amount: number): Promise<ReserveResult> {
    const now = this.now();
    const account = this.account(user, now);
    const total = sum(account.buckets);
    if (this.budget >= 0 && total + amount > this.budget) {
      return Promise.resolve({ ok: false, ...this.retryAfter(account, total, amount, now) });
    }
    const bucket = now - (now % this.window.bucketMs);
    account.buckets.set(bucket, (account.buckets.get(bucket) ?? 0) + amount);
    account.reservations.set(id, { amount, bucket, at: now });
    return Promise.resolve({ ok: true });
  }

  settle(user: string, id: string, outcome: SettleOutcome): Promise<void> {
    const account = this.accounts.get(user);
    const reservation = account?.reservations.get(id);
    if (account === undefined || reservation === undefined) return Promise.resolve();
    account.reservations.delete(id);
    const delta = outcome.kind === 'release' ? -reservation.amount : outcome.kind === 'charge' ? outcome.micros - reservation.amount : 0;
    const current = account.buckets.get(reservation.bucket);
    if (delta !== 0 && current !== undefined) {
      const next = current + delta;
      if (next > 0) account.buckets.set(reservation.bucket, next);
      else account.buckets.delete(reservation.bucket);
    }
    return Promise.resolve();
  }

  status(user: string): Promise<BudgetStatus> {
    const now = this.now();
    const account = this.account(user, now);
    let reserved = 0;
    for (const r of account.reservations.values()) reserved += r.amount;
    const oldest = account.buckets.size === 0 ? null : Math.min(...account.buckets.keys());
    return Promise.resolve({
      limitMicros: this.budget >= 0 ? this.budget : null,
      usedMicros: sum(account.buckets),
      reservedMicros: reserved,
      resetAt: oldest === null ? null : Math.ceil((oldest + this.window.bucketMs + this.window.windowMs) / 1000),
    });
  }

  /** Drops lapsed buckets and abandoned reservations, exactly as the Lua script does. */
  private account(user: string, now: number): Account {
    let account = this.accounts.get(user);
    if (account === undefined) {
      account = { buckets: new Map(), reservations: new Map() };
      this.accounts.set(user, account);
      if (this.accounts.size > this.maxAccounts) this.evictIdleAccounts(now);
    }
    for (const start of account.buckets.keys()) {
      if (start + this.window.bucketMs <= now - this.window.windowMs) account.buckets.delete(start);
    }
    for (const [id, r] of account.reservations) {
      if (r.at + this.window.staleReservationMs <= now) account.reservations.delete(id);
    }
    return account;
  }

  private evictIdleAccounts(now: number): void {
    for (const [user, account] of this.accounts) {
      const live = [...account.buckets.keys()].some((start) => start + this.window.bucketMs > now - this.window.windowMs);
      if (!live && account.reservations.size === 0) this.accounts.delete(user);
    }
  }

  private retryAfter(account: Account, total: number, amount: number, now: number): { retryAfterSeconds: number; neverFits: boolean } {
    if (amount > this.budget) return { retryAfterSeconds: Math.ceil(this.window.windowMs / 1000), neverFits: true };
    let freed = 0;
    for (const [start, micros] of [...account.buckets].sort((a, b) => a[0] - b[0])) {
      freed += micros;
      if (total - freed + amount <= this.budget) {
        return { retryAfterSeconds: Math.max(1, Math.ceil((start + this.window.bucketMs + this.window.windowMs - now) / 1000)), neverFits: false };
      }
    }
    return { retryAfterSeconds: Math.ceil(this.window.windowMs / 1000), neverFits: false };
  }
}

function sum(buckets: Map<number, number>): number {
  let total = 0;
  for (const micros of buckets.values()) total += micros;
  return total;
}
