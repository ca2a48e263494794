import type { RequestHandler, Response } from 'express';
import { HttpError } from '../http/errors';
import type { RateLimitState, UserRateLimit } from './rate-limit';

export function setRateLimitHeaders(res: Response, state: RateLimitState): void {
  res.setHeader('X-RateLimit-Limit', String(state.limit));
  res.setHeader('X-RateLimit-Remaining', String(state.remaining));
  res.setHeader('X-RateLimit-Reset', String(state.resetAt));
}

/** Spends one request of the signed-in user's limit; the headers go on every answer after it. */
export function rateLimit(limiter: UserRateLimit, onRejected?: () => void): RequestHandler {
  return async function rateLimit(req, res, next) {
    const user = req.session.user?.username;
    if (user === undefined) throw new HttpError(401, 'unauthorized', 'Sign in first.');
    let state: RateLimitState;
    try {
      state = await limiter.consume(user);
    } catch {
      throw new HttpError(503, 'service_unavailable', 'The service is temporarily unavailable.');
    }
    setRateLimitHeaders(res, state);
    if (!state.allowed) {
      onRejected?.();
      throw new HttpError(429, 'rate_limit_exceeded', 'Too many requests; slow down.', state.retryAfterSeconds);
    }
    next();
  };
}
