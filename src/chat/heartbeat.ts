import type { ServerResponse } from 'node:http';

/** An SSE comment: every client ignores it (the spec's way to keep a connection alive). */
export const HEARTBEAT = ': keep-alive\n\n';

/**
 * Keeps a stream's connection visibly alive: whenever nothing has been written for `everyMs`, an
 * SSE comment goes out. Proxies end quiet connections — Heroku's router a request with no first
 * byte in 30 s (H12) and a stream silent for 55 s — while Perf may think for longer than that
 * before its first token. The first heartbeat commits the answer to a 200 event stream (`commit`
 * writes its head), so from then on a failure can only be told in the stream's final event.
 *
 * A heartbeat goes only into an empty send buffer: a browser that has not taken the last bytes
 * does not need telling that more are coming, and the relay's own stall timer watches it.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    everyMs: number,
    private readonly commit: () => void,
  ) {
    if (!(everyMs > 0)) throw new TypeError('everyMs must be positive');
    this.timer = setTimeout(() => this.beat(), everyMs);
  }

  /** Something was written: the next heartbeat is due `everyMs` from now. */
  wrote(): void {
    this.timer?.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    if (this.timer === undefined || this.res.destroyed || this.res.writableEnded) return;
    const committing = !this.res.headersSent;
    if (committing) this.commit();
    if (committing || this.res.writableLength === 0) this.res.write(HEARTBEAT);
    this.timer.refresh();
  }
}
