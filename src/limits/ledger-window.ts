/** The rolling window a budget is kept over, and the arithmetic both ledgers share. */

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

/** When spend made in the bucket starting at `oldestMs` has left the window (epoch seconds). */
export function budgetResetAt(oldestMs: number, window: LedgerWindow): number {
  return Math.ceil((oldestMs + window.bucketMs + window.windowMs) / 1000);
}

/**
 * When the oldest spend must have left the window for `amount` to fit, given the buckets in the
 * window (start ms → micros). The Lua script computes the same.
 */
export function retryAfterForBudget(
  buckets: Iterable<[number, number]>,
  total: number,
  amount: number,
  budget: number,
  window: LedgerWindow,
  now: number,
): { retryAfterSeconds: number; neverFits: boolean } {
  const whole = Math.ceil(window.windowMs / 1000);
  if (amount > budget) return { retryAfterSeconds: whole, neverFits: true };
  let freed = 0;
  for (const [start, micros] of [...buckets].sort((a, b) => a[0] - b[0])) {
    freed += micros;
    if (total - freed + amount <= budget) {
      return { retryAfterSeconds: Math.max(1, Math.ceil((start + window.bucketMs + window.windowMs - now) / 1000)), neverFits: false };
    }
  }
  return { retryAfterSeconds: whole, neverFits: false };
}
