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
