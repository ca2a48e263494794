/**
 * What admits a chat call: one request of the user's rate-limit window, and a reservation of the
 * call's cost cap in the user's rolling budget. The stores (Redis, memory) take both in one atomic
 * step; these are the terms they speak in. Amounts are integer micro-dollars (money.ts).
 */

/** The limits a call is measured against (today from the settings; one day from the user's plan). */
export interface Limits {
  requestsPerWindow: number;
  windowSeconds: number;
  /** The rolling budget, or null when budgets are off (spend is still counted). */
  budgetMicros: number | null;
}

export interface RateState {
  limit: number;
  remaining: number;
  /** Unix seconds when the window resets. */
  resetAt: number;
  allowed: boolean;
  /** Whole seconds until the window resets, at least 1. */
  retryAfterSeconds: number;
}

export type ReserveResult =
  | { ok: true }
  /** The cap does not fit in what is left; `neverFits` when it exceeds the whole budget. */
  | { ok: false; retryAfterSeconds: number; neverFits: boolean };

export interface AdmitRequest {
  user: string;
  reservationId: string;
  capMicros: number;
  limits: Limits;
}

/** The rate-limit state, and the reservation when the request was within the limit. */
export interface AdmitResult {
  rate: RateState;
  /** Undefined when the rate limit refused the request: nothing was reserved. */
  reservation?: ReserveResult;
}

/** How a reservation is closed: charge an exact amount, keep it whole, or hand it back. */
export type SettleOutcome = { kind: 'charge'; micros: number } | { kind: 'keep' } | { kind: 'release' };

export interface BudgetStatus {
  limitMicros: number | null;
  /** Charged and kept amounts, reservations included (they are spent until settled). */
  usedMicros: number;
  reservedMicros: number;
  /** Unix seconds when the oldest spend in the window lapses; null when nothing is spent. */
  resetAt: number | null;
}

/** The spend ledger and the chat rate limit, shared by every instance (Redis) or kept in-process. */
export interface AdmissionStore {
  /** Spends one request of the window and, when it is allowed, reserves the cap if it fits: atomically. */
  admit(request: AdmitRequest): Promise<AdmitResult>;
  /** Spends one request of the window only (a request refused before admission still counts). */
  hit(user: string, limits: Limits): Promise<RateState>;
  /** Closes a reservation once; an unknown id (already settled, or long stale) is ignored. */
  settle(user: string, reservationId: string, outcome: SettleOutcome): Promise<void>;
  /** Where the user stands, without spending anything. */
  status(user: string, limits: Limits): Promise<{ rate: RateState; budget: BudgetStatus }>;
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

/** The rate state from a window's count and the milliseconds until it resets. */
export function rateState(limit: number, count: number, msLeft: number, now: number): RateState {
  return {
    limit,
    remaining: Math.max(0, limit - count),
    resetAt: Math.ceil((now + msLeft) / 1000),
    allowed: count <= limit,
    retryAfterSeconds: Math.max(1, Math.ceil(msLeft / 1000)),
  };
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
