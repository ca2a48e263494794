/**
 * How a call to Perf failed, as facts: chat/ decides what the browser is told (upstream-failure.ts)
 * and the money rule what the reservation becomes (limits/settle-policy.ts).
 */
export type PerfFailure =
  /** Perf answered with a failure status. */
  | { kind: 'status'; status: number; code?: string; retryAfterSeconds?: number }
  /** No answer: the connection was refused, reset or dropped. */
  | { kind: 'unreachable'; code?: string }
  /** Our own deadline ran out (UPSTREAM_TIMEOUT_MS for a JSON answer, STREAM_START_TIMEOUT_MS before a stream's first byte, STREAM_IDLE_TIMEOUT_MS in a stream). */
  | { kind: 'timeout'; phase: 'response' | 'idle' }
  /** The browser went away: the call was abandoned on its behalf. */
  | { kind: 'client_gone' };

export class PerfCallError extends Error {
  constructor(
    readonly failure: PerfFailure,
    /** Some attempt may have reached Perf without a definite failure status back. */
    readonly perfMayHaveBilled: boolean,
    readonly attempts: number,
  ) {
    super(`Perf call failed: ${failure.kind}`);
    this.name = 'PerfCallError';
  }
}

/** An abort reason: the browser went away. */
export class ClientGone extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGone';
  }
}

/** An abort reason: the browser took nothing of the answer for too long (it stopped reading). */
export class BrowserStalled extends Error {
  constructor() {
    super('the browser stopped reading');
    this.name = 'BrowserStalled';
  }
}

/** An abort reason: our own deadline ran out. */
export class UpstreamTimeout extends Error {
  constructor(readonly phase: 'response' | 'idle') {
    super(phase === 'idle' ? 'upstream stream went silent' : 'upstream did not answer in time');
    this.name = 'UpstreamTimeout';
  }
}

/** The failure a fired abort signal stands for. */
export function abortFailure(signal: AbortSignal): PerfFailure {
  const reason: unknown = signal.reason;
  return reason instanceof UpstreamTimeout ? { kind: 'timeout', phase: reason.phase } : { kind: 'client_gone' };
}
