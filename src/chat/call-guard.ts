import type { ServerResponse } from 'node:http';
import { ClientGone, UpstreamTimeout } from '../perf/failure';

/**
 * One upstream call's lifetime: aborted at once when the browser goes away, when the response
 * deadline passes, or when a stream goes silent for too long. The abort reason says which.
 */
export class CallGuard {
  private readonly controller = new AbortController();
  private deadlineTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleMs = 0;
  readonly deadline: number;

  constructor(res: ServerResponse, timeoutMs: number) {
    this.deadline = Date.now() + timeoutMs;
    this.deadlineTimer = setTimeout(() => this.abort(new UpstreamTimeout('response')), timeoutMs);
    res.on('close', () => {
      if (!res.writableFinished) this.abort(new ClientGone());
    });
    // The browser may have left while we validated and reserved: 'close' will not fire again.
    if (res.destroyed) this.abort(new ClientGone());
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  isClientGone(): boolean {
    return this.signal.aborted && this.signal.reason instanceof ClientGone;
  }

  /** From the first streamed byte on, silence is bounded instead of the whole call. */
  switchToIdleTimeout(idleMs: number): void {
    clearTimeout(this.deadlineTimer);
    this.idleMs = idleMs;
    this.touch();
  }

  touch(): void {
    if (this.idleMs === 0) return;
    // refresh() re-arms the same timer: no allocation per streamed chunk.
    if (this.idleTimer === undefined) this.idleTimer = setTimeout(() => this.abort(new UpstreamTimeout('idle')), this.idleMs);
    else this.idleTimer.refresh();
  }

  /** While we wait for the browser to take data, Perf is not the one being silent. */
  suspendIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  done(): void {
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.idleTimer);
    this.idleMs = 0;
  }

  private abort(reason: Error): void {
    if (this.signal.aborted) return;
    this.done();
    this.controller.abort(reason);
  }
}
