import type { AdmissionStore, AdmitRequest, AdmitResult, Budget, RateState, SettleOutcome, Standing, Window } from '../limits/admission';
import { rateState, tightest } from '../limits/admission';
import { budgetResetAt, retryAfterForBudget } from '../limits/ledger-window';
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
 * The embedded default's rate limits and ledgers: the rules of redis-scripts.ts, in one process.
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

  admit({ reservationId, capMicros, windows, budgets }: AdmitRequest): Promise<AdmitResult> {
    const now = this.now();
    const rate = tightest(windows.map((w) => this.count(w, now)));
    const accounts = budgets.map((b) => this.account(b.id, now));
    const used = accounts.map((a) => sum(a.buckets));
    if (!rate.allowed) return Promise.resolve({ rate, used: [] });
    for (const [j, budget] of budgets.entries()) {
      const account = accounts[j];
      const total = used[j] ?? 0;
      if (account !== undefined && budget.budgetMicros !== null && total + capMicros > budget.budgetMicros) {
        const refusal = retryAfterForBudget(account.buckets, total, capMicros, budget.budgetMicros, this.window, now);
        return Promise.resolve({ rate, reservation: { ok: false, ...refusal, refusedBy: j }, used });
      }
    }
    const bucket = now - (now % this.window.bucketMs);
    for (const account of accounts) {
      account.buckets.set(bucket, (account.buckets.get(bucket) ?? 0) + capMicros);
      account.reservations.set(reservationId, { amount: capMicros, bucket, at: now });
    }
    return Promise.resolve({ rate, reservation: { ok: true }, used: used.map((u) => u + capMicros) });
  }

  hit(windows: readonly Window[]): Promise<RateState> {
    const now = this.now();
    return Promise.resolve(tightest(windows.map((w) => this.count(w, now))));
  }

  settle(reservationId: string, budgetIds: readonly string[], outcome: SettleOutcome): Promise<void> {
    for (const id of budgetIds) {
      const account = this.accounts.get(id);
      const reservation = account?.reservations.get(reservationId);
      if (account === undefined || reservation === undefined) continue;
      account.reservations.delete(reservationId);
      const delta = outcome.kind === 'release' ? -reservation.amount : outcome.kind === 'charge' ? outcome.micros - reservation.amount : 0;
      const current = account.buckets.get(reservation.bucket);
      if (delta !== 0 && current !== undefined) {
        const next = current + delta;
        if (next > 0) account.buckets.set(reservation.bucket, next);
        else account.buckets.delete(reservation.bucket);
      }
    }
    return Promise.resolve();
  }

  status(windows: readonly Window[], budgets: readonly Budget[]): Promise<Standing> {
    const now = this.now();
    const rates = windows.map((w) => {
      const current = this.liveWindow(w.id, now);
      const count = current?.count ?? 0;
      const msLeft = current === undefined ? w.windowSeconds * 1000 : current.endsAt - now;
      return { ...rateState(w.requestsPerWindow, count, msLeft, now), allowed: count < w.requestsPerWindow };
    });
    return Promise.resolve({
      rates,
      budgets: budgets.map((b) => {
        const account = this.account(b.id, now);
        let reserved = 0;
        for (const r of account.reservations.values()) reserved += r.amount;
        const oldest = account.buckets.size === 0 ? null : Math.min(...account.buckets.keys());
        return {
          limitMicros: b.budgetMicros,
          usedMicros: sum(account.buckets),
          reservedMicros: reserved,
          resetAt: oldest === null ? null : budgetResetAt(oldest, this.window),
        };
      }),
    });
  }

  private liveWindow(id: string, now: number): RateWindow | undefined {
    const current = this.windows.get(id);
    return current !== undefined && current.endsAt > now ? current : undefined;
  }

  /** A fixed window, as the Redis counter: counted even when over the limit. */
  private count(w: Window, now: number): RateState {
    let current = this.liveWindow(w.id, now);
    if (current === undefined) {
      current = { count: 0, endsAt: now + w.windowSeconds * 1000 };
      this.windows.set(w.id, current);
      if (this.windows.size > this.maxEntries) this.dropEndedWindows(now);
    }
    current.count += 1;
    return rateState(w.requestsPerWindow, current.count, current.endsAt - now, now);
  }

  /** Drops lapsed buckets and abandoned reservations, exactly as the Lua script does. */
  private account(id: string, now: number): Account {
    let account = this.accounts.get(id);
    if (account === undefined) {
      account = { buckets: new Map(), reservations: new Map() };
      this.accounts.set(id, account);
      if (this.accounts.size > this.maxEntries) this.evictIdleAccounts(now);
    }
    for (const start of account.buckets.keys()) {
      if (start + this.window.bucketMs <= now - this.window.windowMs) account.buckets.delete(start);
    }
    for (const [rid, r] of account.reservations) {
      if (r.at + this.window.staleReservationMs <= now) account.reservations.delete(rid);
    }
    return account;
  }

  private evictIdleAccounts(now: number): void {
    for (const [id, account] of this.accounts) {
      const live = [...account.buckets.keys()].some((start) => start + this.window.bucketMs > now - this.window.windowMs);
      if (!live && account.reservations.size === 0) this.accounts.delete(id);
    }
  }

  private dropEndedWindows(now: number): void {
    for (const [id, w] of this.windows) if (w.endsAt <= now) this.windows.delete(id);
  }
}

function sum(buckets: Map<number, number>): number {
  let total = 0;
  for (const micros of buckets.values()) total += micros;
  return total;
}
