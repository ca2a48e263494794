import type { Response } from 'express';
import { HttpError } from '../http/errors';
import type { Logger } from '../infra/logger';
import type { Ledger, ReserveResult } from '../limits/ledger';
import type { RateLimitState, UserRateLimit } from '../limits/rate-limit';
import { setRateLimitHeaders } from '../limits/rate-limit-middleware';

const notTried: ReserveResult = { ok: false, retryAfterSeconds: 0, neverFits: false, gated: true };

export interface AdmissionDeps {
  limiter: UserRateLimit;
  ledger: Ledger;
  logger: Logger;
  onRateLimited?: () => void;
  onBudgetExceeded?: () => void;
}

/**
 * Spends one request of the user's rate limit and reserves the call's cap.
 *
 * With Redis, both commands leave in the same tick, so node-redis sends them as one pipeline:
 * one round trip instead of two. The reservation script is gated on the rate-limit counter, so
 * a burst over the limit does not hold budget it will never use (which could refuse an allowed
 * call with budget_exceeded). Another instance's increment can slip in between the two commands
 * and close the gate on an allowed call; that rare case reserves once more, ungated.
 * In memory there is no round trip to save: the two steps simply run in order.
 */
export async function admit(deps: AdmissionDeps, res: Response, user: string, reservationId: string, capMicros: number): Promise<void> {
  const gateKey = deps.limiter.redisKey(user);
  let rate: PromiseSettledResult<RateLimitState>;
  let budget: PromiseSettledResult<ReserveResult>;
  if (gateKey === undefined) {
    [rate] = await Promise.allSettled([deps.limiter.consume(user)]);
    [budget] = await Promise.allSettled([
      rate.status === 'fulfilled' && rate.value.allowed ? deps.ledger.reserve(user, reservationId, capMicros) : Promise.resolve(notTried),
    ]);
  } else {
    const gate = { key: gateKey, limit: deps.limiter.limit };
    [rate, budget] = await Promise.allSettled([deps.limiter.consume(user), deps.ledger.reserve(user, reservationId, capMicros, gate)]);
    if (rate.status === 'fulfilled' && rate.value.allowed && budget.status === 'fulfilled' && !budget.value.ok && budget.value.gated === true) {
      [budget] = await Promise.allSettled([deps.ledger.reserve(user, reservationId, capMicros)]);
    }
  }
  // Handed back when the call will not go ahead. A reserve that failed or timed out may still run
  // in Redis later: the release queues behind it on the same connection (unknown ids are ignored).
  // Not awaited: the answer does not wait on a Redis that is already misbehaving.
  const mayHoldReservation = budget.status === 'rejected' || budget.value.ok;
  const giveBack = (): void => {
    if (!mayHoldReservation) return;
    deps.ledger.settle(user, reservationId, { kind: 'release' }).catch((err: unknown) => {
      deps.logger.error({ err: { message: (err as Error).message } }, 'could not release a reservation; it stays charged');
    });
  };

  if (rate.status === 'rejected') {
    giveBack();
    throw new HttpError(503, 'service_unavailable', 'The service is temporarily unavailable.');
  }
  setRateLimitHeaders(res, rate.value);
  if (!rate.value.allowed) {
    giveBack();
    deps.onRateLimited?.();
    throw new HttpError(429, 'rate_limit_exceeded', 'Too many requests; slow down.', rate.value.retryAfterSeconds);
  }
  if (budget.status === 'rejected') {
    // Money fails closed: without the ledger there is no upstream call.
    giveBack();
    deps.logger.error({ err: { message: (budget.reason as Error).message } }, 'spend ledger unavailable');
    throw new HttpError(503, 'service_unavailable', 'The service is temporarily unavailable.');
  }
  if (!budget.value.ok) {
    deps.onBudgetExceeded?.();
    const message = budget.value.neverFits
      ? "This call's cost cap is larger than your whole budget; lower max_cost_per_call."
      : 'Your spend budget is used up for now.';
    throw new HttpError(429, 'budget_exceeded', message, budget.value.retryAfterSeconds);
  }
}
