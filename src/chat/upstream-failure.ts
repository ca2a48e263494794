import { HttpError } from '../http/errors';
import type { CallOutcome } from '../limits/settle-policy';
import type { PerfCallError, PerfFailure } from '../perf/failure';

/**
 * What the browser is told when Perf gave no usable answer. Perf's own bodies are never shown, and
 * no message carries internals or the key. Undefined: nobody is left to tell (the browser left).
 */
export function browserErrorFor(failure: PerfFailure): HttpError | undefined {
  switch (failure.kind) {
    case 'client_gone':
      return undefined;
    case 'timeout':
      return new HttpError(
        504,
        'upstream_timeout',
        failure.phase === 'idle' ? 'Perf stopped sending the answer.' : 'Perf did not answer in time.',
      );
    case 'unreachable':
      return new HttpError(502, 'upstream_unavailable', 'Perf could not be reached.');
    case 'status':
      return statusError(failure.status, failure.retryAfterSeconds);
  }
}

function statusError(status: number, retryAfterSeconds: number | undefined): HttpError {
  if (status === 401 || status === 403)
    return new HttpError(502, 'upstream_auth_failed', 'The service is misconfigured and cannot reach Perf.');
  if (status === 429) return new HttpError(503, 'upstream_rate_limited', 'Perf is busy; try again shortly.', retryAfterSeconds ?? 1);
  if (status === 400 || status === 422) return new HttpError(400, 'invalid_request', 'Perf refused the request as invalid.');
  if (status >= 500) return new HttpError(502, 'upstream_error', 'Perf failed to answer.');
  return new HttpError(502, 'upstream_error', 'Perf gave an unexpected answer.');
}

/** A failed call, as the money rule sees it (limits/settle-policy.ts). */
export function outcomeOf(err: PerfCallError): CallOutcome {
  const { failure } = err;
  if (!err.perfMayHaveBilled) {
    return failure.kind === 'client_gone' && err.attempts === 0
      ? { kind: 'not_sent', why: 'client_gone' }
      : { kind: 'refused', ...(failure.kind === 'status' ? { status: failure.status } : {}) };
  }
  if (failure.kind === 'client_gone') return { kind: 'ambiguous', why: 'client_gone' };
  return { kind: 'ambiguous', why: failure.kind === 'timeout' ? 'timeout' : 'connection_lost' };
}
