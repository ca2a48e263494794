import type { Request, Response } from 'express';
import { HttpError } from '../http/errors';
import type { Ledger } from '../limits/ledger';
import { microsToUsd } from '../limits/money';
import type { UserRateLimit } from '../limits/rate-limit';
import { setRateLimitHeaders } from '../limits/rate-limit-middleware';
import { currentUser } from '../auth/require-user';

/** GET /api/usage: what the page shows — requests left in the window, and money left in the day. */
export function usageHandler(deps: { limiter: UserRateLimit; ledger: Ledger }) {
  return async function usage(req: Request, res: Response): Promise<void> {
    const user = currentUser(req);
    let rate, budget;
    try {
      [rate, budget] = await Promise.all([deps.limiter.peek(user), deps.ledger.status(user)]);
    } catch {
      throw new HttpError(503, 'service_unavailable', 'Usage is temporarily unavailable.');
    }
    setRateLimitHeaders(res, rate);
    const limit = budget.limitMicros;
    res.set('Cache-Control', 'no-store').json({
      rate_limit: { limit: rate.limit, remaining: rate.remaining, reset: rate.resetAt },
      budget: {
        limit_usd: limit === null ? null : microsToUsd(limit),
        spent_usd: microsToUsd(budget.usedMicros - budget.reservedMicros),
        reserved_usd: microsToUsd(budget.reservedMicros),
        remaining_usd: limit === null ? null : microsToUsd(Math.max(0, limit - budget.usedMicros)),
        reset: budget.resetAt,
      },
    });
  };
}
