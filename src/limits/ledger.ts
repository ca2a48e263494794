/** A per-user spend budget over a rolling window, in integer micro-dollars. */
export interface Ledger {
  /**
   * Atomically sets aside `amountMicros` if it fits in what is left of the budget. With a gate,
   * nothing is reserved when the rate-limit counter in Redis is already over its limit.
   */
  reserve(user: string, reservationId: string, amountMicros: number, gate?: RateGate): Promise<ReserveResult>;
  /** Closes a reservation once: charge what Perf reported, keep it all, or release it all. */
  settle(user: string, reservationId: string, outcome: SettleOutcome): Promise<void>;
  status(user: string): Promise<BudgetStatus>;
}

export type ReserveResult = { ok: true } | { ok: false; retryAfterSeconds: number; neverFits: boolean; gated?: true };

/** The Redis key of a rate-limit counter and its limit (see admission.ts). */
export interface RateGate {
  key: string;
  limit: number;
}

export type SettleOutcome =
  | { kind: 'charge'; micros: number }
  | { kind: 'keep' }
  | { kind: 'release' };

export interface BudgetStatus {
  /** null when budgets are off (DAILY_BUDGET_USD=0): spend is still counted. */
  limitMicros: number | null;
  /** Charged and kept amounts, reservations included (they are spent until settled). */
  usedMicros: number;
  reservedMicros: number;
  /** Unix seconds when the oldest spend in the window lapses; null when nothing is spent. */
  resetAt: number | null;
}

export interface LedgerWindow {
  windowMs: number;
  /** Spend is grouped per bucket; a bucket lapses whole once its end has left the window. */
  bucketMs: number;
  /** A reservation never settled (an instance died) after this long stays charged for good. */
  staleReservationMs: number;
}

export const DAY_WINDOW: LedgerWindow = {
  windowMs: 24 * 3600 * 1000,
  bucketMs: 15 * 60 * 1000,
  staleReservationMs: 6 * 3600 * 1000,
};

export function budgetOf(limitMicros: number): number {
  // 0 turns budgets off; the ledger scripts take -1 for "no limit".
  return limitMicros > 0 ? limitMicros : -1;
}
