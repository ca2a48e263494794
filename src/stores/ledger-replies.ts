import type { Budget, RateState, Standing, Window } from '../limits/admission';
import { rateState } from '../limits/admission';
import { budgetResetAt } from '../limits/ledger-window';
import type { LedgerWindow } from '../limits/ledger-window';
import type { WindowArgs } from './redis-scripts';

/*
 * The arguments of the ledger scripts (redis-scripts.ts) and how their replies read, shared by the
 * store on one Redis and the one on a cluster (which runs the same scripts subject by subject).
 */

/** The window arguments every ledger script takes. */
export function windowArgs(window: LedgerWindow, now: number): WindowArgs {
  return [now, window.windowMs, window.bucketMs, window.staleReservationMs];
}

/** ledgerAdmit's arguments, after its keys (the windows' counters, then the budgets' ledgers). */
export function admitArgs(
  window: LedgerWindow,
  now: number,
  capMicros: number,
  reservationId: string,
  windows: readonly Window[],
  budgets: readonly Budget[],
): (string | number)[] {
  return [
    ...windowArgs(window, now),
    capMicros,
    reservationId,
    windows.length,
    ...windows.flatMap((w) => [w.requestsPerWindow, w.windowSeconds]),
    ...budgets.map((b) => b.budgetMicros ?? -1),
  ];
}

/** The rate state of each window from a reply that starts with a [count, ttl ms] pair per window (admit, hit). */
export function windowStates(reply: readonly number[], windows: readonly Window[], now: number): RateState[] {
  return windows.map((w, i) => rateState(w.requestsPerWindow, reply[2 * i] ?? 0, reply[2 * i + 1] ?? 0, now));
}

/** ledgerStatus's reply: a [count, ttl ms] pair per window, then a [used, reserved, oldest bucket] triple per budget. */
export function standingFrom(
  reply: readonly number[],
  windows: readonly Window[],
  budgets: readonly Budget[],
  window: LedgerWindow,
  now: number,
): Standing {
  const rates = windows.map((w, i) => {
    const count = reply[2 * i] ?? 0;
    const ttl = reply[2 * i + 1] ?? -2;
    return { ...rateState(w.requestsPerWindow, count, ttl < 0 ? w.windowSeconds * 1000 : ttl, now), allowed: count < w.requestsPerWindow };
  });
  const at = 2 * windows.length;
  return {
    rates,
    budgets: budgets.map((b, j) => {
      const [used = 0, reserved = 0, oldest = -1] = reply.slice(at + 3 * j, at + 3 * j + 3);
      return {
        limitMicros: b.budgetMicros,
        usedMicros: used,
        reservedMicros: reserved,
        resetAt: oldest < 0 ? null : budgetResetAt(oldest, window),
      };
    }),
  };
}
