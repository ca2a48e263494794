import { HttpError } from '../http/errors';
import type { Logger } from '../infra/logger';
import type { AdmissionStore, Limits, RateState } from '../limits/admission';

export interface AdmissionDeps {
  store: AdmissionStore;
  logger: Logger;
  onRateLimited?: () => void;
  onBudgetExceeded?: () => void;
}

/** Admitted, or refused with the error to answer; `rate` (when known) goes into the headers either way. */
export type Admission = { admitted: true; rate: RateState } | { admitted: false; rate?: RateState; error: HttpError };

const unavailable = () => new HttpError(503, 'service_unavailable', 'The service is temporarily unavailable.');

/**
 * Spends one request of the user's rate limit and reserves the call's cap, in one atomic step of
 * the store (one round trip in Redis). Money fails closed: without the ledger there is no call.
 */
export async function admit(
  deps: AdmissionDeps,
  user: string,
  reservationId: string,
  capMicros: number,
  limits: Limits,
): Promise<Admission> {
  let result;
  try {
    result = await deps.store.admit({ user, reservationId, capMicros, limits });
  } catch (err) {
    // The step may still run in Redis after our deadline: the release queues behind it on the same
    // connection (an unknown id is ignored). Not awaited: the answer does not wait on a Redis that
    // is already misbehaving.
    deps.store.settle(user, reservationId, { kind: 'release' }).catch(() => undefined);
    deps.logger.error({ err: { message: (err as Error).message } }, 'spend ledger unavailable');
    return { admitted: false, error: unavailable() };
  }
  const { rate, reservation } = result;
  if (reservation === undefined) {
    deps.onRateLimited?.();
    return {
      admitted: false,
      rate,
      error: new HttpError(429, 'rate_limit_exceeded', 'Too many requests; slow down.', rate.retryAfterSeconds),
    };
  }
  if (!reservation.ok) {
    deps.onBudgetExceeded?.();
    const message = reservation.neverFits
      ? "This call's cost cap is larger than your whole budget; lower max_cost_per_call."
      : 'Your spend budget is used up for now.';
    return { admitted: false, rate, error: new HttpError(429, 'budget_exceeded', message, reservation.retryAfterSeconds) };
  }
  return { admitted: true, rate };
}
