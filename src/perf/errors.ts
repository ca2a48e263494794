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

/** The browser went away: stop working on its behalf. */
export class ClientGone extends Error {
  constructor() {
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

export function timeoutError(phase: 'response' | 'idle'): UpstreamError {
  const message = phase === 'idle' ? 'Perf stopped sending the answer.' : 'Perf did not answer in time.';
  return new UpstreamError(new HttpError(504, 'upstream_timeout', message), phase === 'idle');
}
