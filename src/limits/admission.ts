/**
 * What admits a chat call: one request in each of its rate-limit windows, and a reservation of the
 * call's cost cap in each of its budgets, all in one atomic step of the store. These are the terms
 * the stores (Redis, memory) speak in. Amounts are integer micro-dollars (money.ts).
 */

/** A rate-limit window a request counts in: the user's own, and for a guest also their address's. */
export interface Window {
  id: string;
  requestsPerWindow: number;
  windowSeconds: number;
}

/** A rolling budget a call's cap is reserved in: the user's, a guest pool, the operator's ceiling. */
export interface Budget {
  id: string;
  /** null: no limit (spend is still counted). */
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
  /** Budget number `refusedBy` has no room for the cap; `neverFits` when the cap exceeds that whole budget. */
  | { ok: false; retryAfterSeconds: number; neverFits: boolean; refusedBy: number };

export interface AdmitRequest {
  reservationId: string;
  capMicros: number;
  windows: readonly Window[];
  budgets: readonly Budget[];
}

export interface AdmitResult {
  /** The tightest window: a refusing one, else the one with the fewest requests left. */
  rate: RateState;
  /** Undefined when a window refused the request: nothing was reserved anywhere. */
  reservation?: ReserveResult;
  /** Micro-dollars used in each budget after this step (its reservation included when it was made). */
  used: number[];
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

/** Where a caller stands in each window and budget, without spending anything. */
export interface Standing {
  rates: RateState[];
  budgets: BudgetStatus[];
}

/** The spend ledgers and the chat rate limits, shared by every instance (Redis) or kept in-process. */
export interface AdmissionStore {
  /** Counts the request in every window and, when all allow it, reserves the cap in every budget that has room for it: all or nothing, atomically. */
  admit(request: AdmitRequest): Promise<AdmitResult>;
  /** Counts a request in every window only (a request refused before admission still counts). */
  hit(windows: readonly Window[]): Promise<RateState>;
  /** Closes a reservation in each of its budgets, once; an unknown id (already settled, or long stale) is ignored. */
  settle(reservationId: string, budgetIds: readonly string[], outcome: SettleOutcome): Promise<void>;
  status(windows: readonly Window[], budgets: readonly Budget[]): Promise<Standing>;
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

/** Of several windows' states, the one that speaks for the request: a refusal first, else the fewest left. */
export function tightest(states: readonly RateState[]): RateState {
  const [first, ...rest] = states;
  if (first === undefined) throw new TypeError('a request counts in at least one window');
  return rest.reduce((a, b) => (a.allowed !== b.allowed ? (a.allowed ? b : a) : b.remaining < a.remaining ? b : a), first);
}
