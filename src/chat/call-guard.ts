import type { ServerResponse } from 'node:http';
import { BrowserStalled, ClientGone, UpstreamTimeout } from '../perf/failure';

/**
 * One upstream call's lifetime: aborted at once when the browser goes away, when the response
 * deadline passes, or when a stream makes no progress for too long — Perf silent, or the browser
 * not taking what was sent. The abort reason says which.
 */
export class CallGuard {
  private readonly controller = new AbortController();
  private deadlineTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private idleMs = 0;
  readonly deadline: number;

  constructor(
    private readonly res: ServerResponse,
    timeoutMs: number,
  ) {
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

  /**
   * The browser has not taken the last bytes yet. Perf is not the one being silent now, but the
   * browser gets as long as Perf would: a reader that stops reading must not hold the stream, the
   * call to Perf and its reservation forever. Past that, the connection is cut.
   */
  waitForBrowser(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.idleMs === 0) return;
    this.stallTimer = setTimeout(() => {
      this.abort(new BrowserStalled());
      this.res.destroy();
    }, this.idleMs);
  }

  /** The browser took what was waiting: Perf's silence counts again. */
  browserCaughtUp(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.touch();
  }

  isBrowserStalled(): boolean {
    return this.signal.aborted && this.signal.reason instanceof BrowserStalled;
  }

  done(): void {
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.idleTimer);
    clearTimeout(this.stallTimer);
    this.idleMs = 0;
  }

  private abort(reason: Error): void {
    if (this.signal.aborted) return;
    this.done();
    this.controller.abort(reason);
  }
}
