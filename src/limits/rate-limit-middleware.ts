import type { ErrorRequestHandler, Response } from 'express';
import { HttpError } from '../http/errors';
import type { RateLimitState, UserRateLimit } from './rate-limit';

export function setRateLimitHeaders(res: Response, state: RateLimitState): void {
  res.setHeader('X-RateLimit-Limit', String(state.limit));
  res.setHeader('X-RateLimit-Remaining', String(state.remaining));
  res.setHeader('X-RateLimit-Reset', String(state.resetAt));
}

/**
 * A signed-in request refused before admission (bad JSON, 413, 415, 400) still spends one
 * request of the limit and carries the headers: every /api/chat answer says where the caller
 * stands, and a stream of bad requests is limited like any other.
 */
export function countRefusedRequest(limiter: UserRateLimit, onRejected?: () => void): ErrorRequestHandler {
  return async function countRefusedRequest(err: unknown, req, res, next) {
    const user = (req as { session?: { user?: { username: string } } }).session?.user?.username;
    if (user === undefined || res.headersSent || res.getHeader('X-RateLimit-Limit') !== undefined) {
      next(err);
      return;
    }
    let state: RateLimitState;
    try {
      state = await limiter.consume(user);
    } catch {
      next(err);
      return;
    }
    setRateLimitHeaders(res, state);
    if (!state.allowed) {
      onRejected?.();
      next(new HttpError(429, 'rate_limit_exceeded', 'Too many requests; slow down.', state.retryAfterSeconds));
      return;
    }
    next(err);
  };
}
