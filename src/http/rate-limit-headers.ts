import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import type { AdmissionStore, Limits, RateState } from '../limits/admission';
import { HttpError } from './errors';

export function setRateLimitHeaders(res: ServerResponse, state: RateState): void {
  res.setHeader('X-RateLimit-Limit', String(state.limit));
  res.setHeader('X-RateLimit-Remaining', String(state.remaining));
  res.setHeader('X-RateLimit-Reset', String(state.resetAt));
}

export interface CountRefusedOptions {
  store: AdmissionStore;
  limits: Limits;
  onRejected?: () => void;
}

/**
 * A signed-in request refused before admission (bad JSON, 413, 415, 400) still spends one
 * request of the limit and carries the headers: every chat answer says where the caller
 * stands, and a stream of bad requests is limited like any other.
 */
export function countRefusedRequest(options: CountRefusedOptions): ErrorRequestHandler {
  return async function countRefusedRequest(err: unknown, req, res, next) {
    const user = (req as { session?: { user?: { username: string } } }).session?.user?.username;
    if (user === undefined || res.headersSent || res.getHeader('X-RateLimit-Limit') !== undefined) {
      next(err);
      return;
    }
    let state: RateState;
    try {
      state = await options.store.hit(user, options.limits);
    } catch {
      next(err);
      return;
    }
    setRateLimitHeaders(res, state);
    if (!state.allowed) {
      options.onRejected?.();
      next(new HttpError(429, 'rate_limit_exceeded', 'Too many requests; slow down.', state.retryAfterSeconds));
      return;
    }
    next(err);
  };
}
