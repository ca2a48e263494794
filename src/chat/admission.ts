import { HttpError } from '../http/errors';
import type { Logger } from '../infra/logger';
import type { AdmissionStore, AdmitResult, RateState } from '../limits/admission';
import type { Entitlement } from '../limits/entitlement';

export interface AdmissionDeps {
  store: AdmissionStore;
  logger: Logger;
  onRateLimited?: () => void;
  onBudgetExceeded?: () => void;
  onServiceBudgetExhausted?: () => void;
}

/** Admitted (with what each budget now holds), or refused with the error to answer; `rate`, when known, goes into the headers either way. */
export type Admission = { admitted: true; rate: RateState; used: number[] } | { admitted: false; rate?: RateState; error: HttpError };

const unavailable = () => new HttpError(503, 'service_unavailable', 'The service is temporarily unavailable.');

/**
 * Counts the request in each of its windows and reserves the call's cap in each of its budgets,
 * in one atomic step of the store (one round trip in Redis). Money fails closed: without the
 * ledger there is no call.
 */
export async function admit(deps: AdmissionDeps, entitlement: Entitlement, reservationId: string, capMicros: number): Promise<Admission> {
  let result: AdmitResult;
  try {
    result = await deps.store.admit({ reservationId, capMicros, windows: entitlement.windows, budgets: entitlement.budgets });
  } catch (err) {
    // The step may still run in Redis after our deadline: the release queues behind it on the same
    // connection (an unknown id is ignored). Not awaited: the answer does not wait on a Redis that
    // is already misbehaving.
    release(deps.store, entitlement, reservationId).catch(() => undefined);
    deps.logger.error({ err: { message: (err as Error).message } }, 'spend ledger unavailable');
    return { admitted: false, error: unavailable() };
  }
  const { rate, reservation, used } = result;
  if (reservation === undefined) {
    deps.onRateLimited?.();
    return {
      admitted: false,
      rate,
      error: new HttpError(429, 'rate_limit_exceeded', 'Too many requests; slow down.', rate.retryAfterSeconds),
    };
  }
  if (!reservation.ok) {
    const kind = entitlement.kinds[reservation.refusedBy];
    if (kind === 'global' || kind === 'guest_pool') {
      deps.onServiceBudgetExhausted?.();
      const message =
        kind === 'global'
          ? 'The service has spent its budget for now; try again later.'
          : 'Trying without an account is not possible for now; sign in, or try again later.';
      return { admitted: false, rate, error: new HttpError(503, 'service_budget_exhausted', message, reservation.retryAfterSeconds) };
    }
    deps.onBudgetExceeded?.();
    const message = reservation.neverFits
      ? "This call's cost cap is larger than your whole budget; lower max_cost_per_call."
      : 'Your spend budget is used up for now.';
    return { admitted: false, rate, error: new HttpError(429, 'budget_exceeded', message, reservation.retryAfterSeconds) };
  }
  return { admitted: true, rate, used };
}

/** Hands a reservation back in every budget it was made in. */
export function release(store: AdmissionStore, entitlement: Entitlement, reservationId: string): Promise<void> {
  return store.settle(
    reservationId,
    entitlement.budgets.map((b) => b.id),
    { kind: 'release' },
  );
}
