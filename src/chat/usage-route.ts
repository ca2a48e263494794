import type { Request, RequestHandler, Response } from 'express';
import { currentUser } from '../auth/require-user';
import { HttpError } from '../http/errors';
import { setRateLimitHeaders } from '../http/rate-limit-headers';
import type { AdmissionStore, Limits } from '../limits/admission';
import { microsToUsd } from '../limits/money';

/** GET /api/usage: what the page shows — requests left in the window, and money left in the day. */
export function usageRoute(options: { admission: AdmissionStore; limits: Limits }): RequestHandler {
  return async function usage(req: Request, res: Response): Promise<void> {
    const user = currentUser(req);
    let status;
    try {
      status = await options.admission.status(user, options.limits);
    } catch {
      throw new HttpError(503, 'service_unavailable', 'Usage is temporarily unavailable.');
    }
    const { rate, budget } = status;
    setRateLimitHeaders(res, rate);
    const limit = budget.limitMicros;
    res.json({
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
