import { RateLimiterRes } from 'rate-limiter-flexible';
import { HttpError } from '../http/errors';
import { withDeadline } from '../infra/deadline';

/**
 * Spends an attempt from the sign-in throttles (rate-limiter-flexible `consume()` calls): a
 * throttle that is spent answers 429 with `tooMany` and when to try again; one that cannot be
 * asked (Redis away or silent) answers 503.
 */
export async function throttled(attempt: Promise<unknown>, tooMany: string): Promise<void> {
  try {
    await withDeadline(attempt, 'sign-in throttle');
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      throw new HttpError(429, 'too_many_attempts', tooMany, Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
    }
    throw new HttpError(503, 'service_unavailable', 'Sign-in is temporarily unavailable.');
  }
}
