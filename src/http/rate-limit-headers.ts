import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Request } from 'express';
import type { AdmissionStore, RateState, Window } from '../limits/admission';
import { HttpError } from './errors';

export function setRateLimitHeaders(res: ServerResponse, state: RateState): void {
  res.setHeader('X-RateLimit-Limit', String(state.limit));
  res.setHeader('X-RateLimit-Remaining', String(state.remaining));
  res.setHeader('X-RateLimit-Reset', String(state.resetAt));
}

export interface CountRefusedOptions {
  store: AdmissionStore;
  /** The windows a signed-in request counts in (its caller's plan's). */
  windowsOf: (req: Request) => Window[];
  onRejected?: () => void;
}

/**
 * A signed-in request refused before admission (bad JSON, 413, 415, 400) still spends one
 * request of the limit and carries the headers: every chat answer says where the caller
 * stands, and a stream of bad requests is limited like any other.
 */
export function countRefusedRequest(options: CountRefusedOptions): ErrorRequestHandler {
  return async function countRefusedRequest(err: unknown, req, res, next) {
    const signedIn = (req as { session?: { user?: unknown } }).session?.user !== undefined;
    // Only the caller's own mistakes count: a store that is away (503) must not be asked again.
    if (!signedIn || !isRefusal(err) || res.headersSent || res.getHeader('X-RateLimit-Limit') !== undefined) {
      next(err);
      return;
    }
    let state: RateState;
    try {
      state = await options.store.hit(options.windowsOf(req));
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

/** A 4xx: ours (HttpError) or body-parser's (bad JSON, too large, wrong type), both with `status`. */
function isRefusal(err: unknown): boolean {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}
