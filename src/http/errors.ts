import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isStoreUnavailable } from '../infra/deadline';

export type ErrorType =
  | 'unauthorized'
  | 'invalid_credentials'
  | 'password_change_required'
  | 'csrf_rejected'
  | 'invalid_request'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'rate_limit_exceeded'
  | 'budget_exceeded'
  | 'too_many_attempts'
  | 'upstream_rate_limited'
  | 'upstream_auth_failed'
  | 'upstream_error'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'service_unavailable'
  | 'service_budget_exhausted'
  | 'not_found'
  | 'internal_error';

/** The longest wait we ever tell a client (25 h): longer than any budget's (24 h and a 15-minute bucket). */
export const MAX_RETRY_AFTER_SECONDS = 25 * 3600;

/** A whole number of seconds between 1 and MAX_RETRY_AFTER_SECONDS, whatever came in (Perf's headers included). */
export function sanitizedRetryAfter(seconds: number): number {
  if (Number.isNaN(seconds)) return 1;
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(seconds)));
}

/** An error whose status, type and message are safe to show to the browser as they are. */
export class HttpError extends Error {
  /** Seconds to wait (429, 503): always a sane whole number when present. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    retryAfterSeconds?: number,
    /** The request field at fault, for faces that name it separately (OpenAI's `param`). */
    readonly param?: string,
  ) {
    super(message);
    this.name = 'HttpError';
    this.retryAfterSeconds = retryAfterSeconds === undefined ? undefined : sanitizedRetryAfter(retryAfterSeconds);
  }
}

export interface ErrorBody {
  error: { type: ErrorType; message: string; request_id: string; retry_after?: number };
}

/** How an API face writes an error body; ours is errorBody, the OpenAI face has its own. */
export type ErrorShape = (err: HttpError, requestId: string) => unknown;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own augmentation point for res.locals
  namespace Express {
    interface Locals {
      /** Set by a face whose errors have another shape (the OpenAI-compatible one). */
      errorShape?: ErrorShape;
    }
  }
}

export function errorBody(err: HttpError, requestId: string): ErrorBody {
  const body: ErrorBody = { error: { type: err.type, message: err.message, request_id: requestId } };
  if (err.retryAfterSeconds !== undefined) body.error.retry_after = err.retryAfterSeconds;
  return body;
}

/** Maps what body-parser and friends throw onto our contract; anything else is a 500. */
function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (isStoreUnavailable(err)) return new HttpError(503, 'service_unavailable', 'The service is temporarily unavailable.');
  const e = err as { type?: unknown; status?: unknown; expose?: unknown };
  if (e.type === 'entity.too.large') return new HttpError(413, 'payload_too_large', 'The request body is too large.');
  if (e.type === 'entity.parse.failed') return new HttpError(400, 'invalid_request', 'The request body is not valid JSON.');
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
    return new HttpError(415, 'unsupported_media_type', 'The request body must be UTF-8 JSON.');
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true) {
    return new HttpError(400, 'invalid_request', 'The request could not be read.');
  }
  return new HttpError(500, 'internal_error', 'Something went wrong on our side.');
}

const LONGEST_AUTOMATIC_RETRY_SECONDS = 60;

/** The id the request log gave the request (ours, or the router's X-Request-Id). */
export function requestIdOf(req: { id?: unknown }): string {
  return typeof req.id === 'string' ? req.id : '';
}

export const notFound: RequestHandler = function notFound(_req, _res, next) {
  next(new HttpError(404, 'not_found', 'No such route.'));
};

/** The one error middleware: answers in the contract's shape and hands the error to the request log. */
export function errorHandler(): ErrorRequestHandler {
  return function errorHandler(err: unknown, req, res, next) {
    const httpError = toHttpError(err);
    // The request logger writes one line per request and includes res.err: nothing is logged here.
    if (httpError.status >= 500) res.err = err instanceof Error ? err : new Error(String(err));
    if (res.headersSent) {
      next(err);
      return;
    }
    if (httpError.retryAfterSeconds !== undefined) {
      res.setHeader('Retry-After', String(httpError.retryAfterSeconds));
      // SDKs that retry by themselves (OpenAI's, Anthropic's) read this: a wait of minutes or
      // hours is for the caller to decide, not for a retry loop to sit in.
      if (httpError.retryAfterSeconds > LONGEST_AUTOMATIC_RETRY_SECONDS) res.setHeader('x-should-retry', 'false');
    }
    const shape = res.locals.errorShape ?? errorBody;
    res.status(httpError.status).json(shape(httpError, requestIdOf(req)));
  };
}
