/**
 * A store that is connected but silent must not hold a request: node-redis gives up on a command
 * only while it waits to be written, never once it is on the wire. Every call into a store goes
 * through this instead, and a late reply is simply ignored.
 */
export class StoreTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'StoreTimeoutError';
  }
}

/** Well inside the 2 s a caller may wait for a 503 when Redis is away. */
export const STORE_DEADLINE_MS = 1500;

/** How often the pending calls are checked: a deadline is kept to within this much. */
const SWEEP_EVERY_MS = 50;

interface Pending {
  at: number;
  expire(): void;
}

/** Every call in flight, swept by one timer: a timer per call cost more than the calls it guards. */
const pending = new Set<Pending>();
let sweeper: NodeJS.Timeout | undefined;

function sweep(): void {
  const now = performance.now();
  for (const call of pending) {
    if (call.at > now) continue;
    pending.delete(call);
    call.expire();
  }
  if (pending.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

export function withDeadline<T>(work: Promise<T>, what: string, ms = STORE_DEADLINE_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const call: Pending = { at: performance.now() + ms, expire: () => reject(new StoreTimeoutError(what, ms)) };
    pending.add(call);
    sweeper ??= setInterval(sweep, Math.min(SWEEP_EVERY_MS, ms)).unref();
    work.then(
      (value) => {
        pending.delete(call);
        resolve(value);
      },
      (reason: unknown) => {
        pending.delete(call);
        // Passed on as it is: rate-limiter-flexible refuses with a RateLimiterRes, not an Error.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(reason);
      },
    );
  });
}

/** Errors that mean "the store is unavailable right now": answered as 503, never as 500. */
const UNAVAILABLE = new Set([
  'StoreTimeoutError',
  'ClientClosedError',
  'ClientOfflineError',
  'SocketClosedUnexpectedlyError',
  'ConnectionTimeoutError',
  'TimeoutError',
  'ReconnectStrategyError',
  // A Redis Cluster: no seed node reachable; a slot redirected again and again (a topology in flux).
  'RootNodesUnavailableError',
  'MaxCommandRedirectionsError',
  // A node's connection dropped by a slot-map refresh while commands were on it.
  'DisconnectsClientError',
]);

/**
 * Replies of a Redis Cluster that is changing under us: a slot without a master (CLUSTERDOWN, a
 * failover in progress), moved or being moved (MOVED, ASK, TRYAGAIN), a replica answering as if it
 * were the master, or a node still loading. They pass once the cluster has settled.
 */
const UNAVAILABLE_REPLY = /^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK|MASTERDOWN|LOADING|READONLY)\b/;
/** A connection cut under a command (a node killed mid-reply). */
const UNAVAILABLE_CODE = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT']);

export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (UNAVAILABLE.has(err.name) || UNAVAILABLE.has(err.constructor.name)) return true;
  const code = (err as NodeJS.ErrnoException).code;
  return UNAVAILABLE_REPLY.test(err.message) || (typeof code === 'string' && UNAVAILABLE_CODE.has(code));
}
