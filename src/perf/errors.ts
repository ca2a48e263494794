import { HttpError } from '../http/errors';

/** Perf could not give us an answer; `answered` says whether Perf may have done (and billed) work. */
export class UpstreamError extends Error {
  constructor(
    readonly httpError: HttpError,
    readonly answered: boolean,
    readonly upstreamStatus?: number,
  ) {
    super(httpError.message);
    this.name = 'UpstreamError';
  }
}

/**
 * The browser went away: stop working on its behalf. `mayHaveBilled` says whether a request to
 * Perf was under way (or ended ambiguously) when it left.
 */
export class ClientGone extends Error {
  constructor(readonly mayHaveBilled = true) {
    super('client closed the connection');
    this.name = 'ClientGone';
  }
}

/** Our own deadline ran out (UPSTREAM_TIMEOUT_MS or STREAM_IDLE_TIMEOUT_MS). */
export class UpstreamTimeout extends Error {
  constructor(readonly phase: 'response' | 'idle') {
    super(phase === 'idle' ? 'upstream stream went silent' : 'upstream did not answer in time');
    this.name = 'UpstreamTimeout';
  }
}

/**
 * A timeout once the request is with Perf does not mean Perf did no work: it may still finish
 * and bill. Such a timeout therefore counts as answered (the reservation is kept), or a caller
 * could make expensive calls time out on purpose and never pay for them.
 */
export function timeoutError(phase: 'response' | 'idle', mayHaveBilled: boolean): UpstreamError {
  const message = phase === 'idle' ? 'Perf stopped sending the answer.' : 'Perf did not answer in time.';
  return new UpstreamError(new HttpError(504, 'upstream_timeout', message), mayHaveBilled);
}
