import type { AdmissionStore, AdmitRequest, AdmitResult, BudgetStatus, Limits, RateState, SettleOutcome } from '../limits/admission';
import { rateState } from '../limits/admission';
import { retryAfterForBudget } from '../limits/ledger-window';
import type { LedgerWindow } from '../limits/ledger-window';

interface Account {
  buckets: Map<number, number>;
  reservations: Map<string, { amount: number; bucket: number; at: number }>;
}

interface RateWindow {
  count: number;
  endsAt: number;
}

/**
 * The embedded default's rate limit and ledger: the rules of redis-scripts.ts, in one process.
 * JavaScript runs each method to completion, which gives the atomicity Lua gives in Redis. Both
 * maps are bounded: idle accounts and ended windows are dropped when they grow past the limit.
 */
export class MemoryAdmissionStore implements AdmissionStore {
  private readonly accounts = new Map<string, Account>();
  private readonly windows = new Map<string, RateWindow>();

  constructor(
    private readonly window: LedgerWindow,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 100_000,
  ) {}

  admit({ user, reservationId, capMicros, limits }: AdmitRequest): Promise<AdmitResult> {
    const now = this.now();
    const rate = this.count(user, limits, now);
    if (!rate.allowed) return Promise.resolve({ rate });
    const account = this.account(user, now);
    const total = sum(account.buckets);
    const budget = limits.budgetMicros;
    if (budget !== null && total + capMicros > budget) {
      return Promise.resolve({
        rate,
        reservation: { ok: false, ...retryAfterForBudget(account.buckets, total, capMicros, budget, this.window, now) },
      });
    }
    const bucket = now - (now % this.window.bucketMs);
    account.buckets.set(bucket, (account.buckets.get(bucket) ?? 0) + capMicros);
    account.reservations.set(reservationId, { amount: capMicros, bucket, at: now });
    return Promise.resolve({ rate, reservation: { ok: true } });
  }

  hit(user: string, limits: Limits): Promise<RateState> {
    return Promise.resolve(this.count(user, limits, this.now()));
  }

  settle(user: string, reservationId: string, outcome: SettleOutcome): Promise<void> {
    const account = this.accounts.get(user);
    const reservation = account?.reservations.get(reservationId);
    if (account === undefined || reservation === undefined) return Promise.resolve();
    account.reservations.delete(reservationId);
    const delta = outcome.kind === 'release' ? -reservation.amount : outcome.kind === 'charge' ? outcome.micros - reservation.amount : 0;
    const current = account.buckets.get(reservation.bucket);
    if (delta !== 0 && current !== undefined) {
      const next = current + delta;
      if (next > 0) account.buckets.set(reservation.bucket, next);
      else account.buckets.delete(reservation.bucket);
    }
    return Promise.resolve();
  }

  status(user: string, limits: Limits): Promise<{ rate: RateState; budget: BudgetStatus }> {
    const now = this.now();
    const account = this.account(user, now);
    let reserved = 0;
    for (const r of account.reservations.values()) reserved += r.amount;
    const oldest = account.buckets.size === 0 ? null : Math.min(...account.buckets.keys());
    const current = this.liveWindow(user, now);
    const count = current?.count ?? 0;
    const msLeft = current === undefined ? limits.windowSeconds * 1000 : current.endsAt - now;
    return Promise.resolve({
      rate: { ...rateState(limits.requestsPerWindow, count, msLeft, now), allowed: count < limits.requestsPerWindow },
      budget: {
        limitMicros: limits.budgetMicros,
        usedMicros: sum(account.buckets),
        reservedMicros: reserved,
        resetAt: oldest === null ? null : Math.ceil((oldest + this.window.bucketMs + this.window.windowMs) / 1000),
      },
    });
  }

  private liveWindow(user: string, now: number): RateWindow | undefined {
    const current = this.windows.get(user);
    return current !== undefined && current.endsAt > now ? current : undefined;
  }

  /** A fixed window per user, as the Redis counter: counted even when over the limit. */
  private count(user: string, limits: Limits, now: number): RateState {
    let current = this.liveWindow(user, now);
    if (current === undefined) {
      current = { count: 0, endsAt: now + limits.windowSeconds * 1000 };
      this.windows.set(user, current);
      if (this.windows.size > this.maxEntries) this.dropEndedWindows(now);
    }
    current.count += 1;
    return rateState(limits.requestsPerWindow, current.count, current.endsAt - now, now);
  }

  /** Drops lapsed buckets and abandoned reservations, exactly as the Lua script does. */
  private account(user: string, now: number): Account {
    let account = this.accounts.get(user);
    if (account === undefined) {
      account = { buckets: new Map(), reservations: new Map() };
      this.accounts.set(user, account);
      if (this.accounts.size > this.maxEntries) this.evictIdleAccounts(now);
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

  private dropEndedWindows(now: number): void {
    for (const [user, w] of this.windows) if (w.endsAt <= now) this.windows.delete(user);
  }
}

function sum(buckets: Map<number, number>): number {
  let total = 0;
  for (const micros of buckets.values()) total += micros;
  return total;
}
