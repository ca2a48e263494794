import type { RedisClientOptions } from 'redis';
import { withDeadline } from './deadline';
import type { Logger } from './logger';
import { diagnoseRedisError, redisTarget } from './redis-diagnosis';
import type { RedisDiagnosis } from './redis-diagnosis';

export interface RedisConnectionOptions {
  url: string;
  tlsRejectUnauthorized: boolean;
  connectTimeoutMs?: number;
  /** A one-shot connection (the CLI): no reconnects, so the first failure is final. */
  reconnect?: boolean;
  /** Default REDIS_PING_INTERVAL_MS; 0: none. */
  pingIntervalMs?: number;
}

/**
 * Hosted Redis (Heroku Key-Value Store among them) closes connections idle for a few minutes; a
 * PING this often keeps ours busy, so a quiet app is not reconnecting (and briefly refusing
 * requests) after every lull.
 */
const REDIS_PING_INTERVAL_MS = 30_000;

/**
 * How every Redis connection of ours behaves: it fails fast instead of queueing (with the offline
 * queue on, every command issued while Redis is away waits forever, and so would the browser),
 * reconnects with a capped backoff (the CLI: not at all), keeps idle connections alive, and
 * checks certificates unless told otherwise.
 *
 * node-redis's own command timeout only covers the wait before a command is written (never the
 * wait for its reply) and costs an AbortSignal per command; with the offline queue off that wait
 * is nil, so it is turned off (0) and withDeadline() (deadline.ts) bounds the whole call instead,
 * so that a Redis that is connected but silent cannot hold requests either.
 */
export function connectionOptions(options: RedisConnectionOptions): RedisClientOptions {
  const tls = options.url.startsWith('rediss://');
  return {
    url: options.url,
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
    pingInterval: options.pingIntervalMs ?? REDIS_PING_INTERVAL_MS,
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 2000,
      reconnectStrategy: options.reconnect === false ? false : (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 2000),
      ...(tls ? { tls: true, rejectUnauthorized: options.tlsRejectUnauthorized } : {}),
    },
  };
}

interface Observable {
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
}

export interface WatchOptions {
  /** The REDIS_URL (only its host and port are ever logged). */
  url: string;
  /** Down this long: no longer a reconnect but an outage, said as an error. */
  outageAfterMs?: number;
  /** While down, the error is repeated this often (with the latest reason). */
  repeatEveryMs?: number;
}

/**
 * Logs a connection's life at the level an operator should see it at:
 * - never connected yet: an error at once (a setting is wrong, and the message names it);
 * - a connection lost: a warning (idle timeouts, restarts and failovers happen; the client
 *   reconnects), and `redis ready` at info once it is back;
 * - still down after `outageAfterMs`: an error, repeated every `repeatEveryMs` while it lasts.
 * The reconnect loop's own errors (one per attempt) are not logged one by one.
 */
export function watchConnection(client: Observable, logger: Logger, options: WatchOptions): void {
  const outageAfterMs = options.outageAfterMs ?? 5000;
  const repeatEveryMs = options.repeatEveryMs ?? 30_000;
  let everReady = false;
  let downSince: number | undefined;
  let latest: RedisDiagnosis | undefined;
  let outageTimer: NodeJS.Timeout | undefined;
  let lastErrorLog = 0;

  const logOutage = (): void => {
    lastErrorLog = Date.now();
    const down = downSince === undefined ? 0 : Date.now() - downSince;
    logger.error({ down_ms: down, setting: latest?.setting }, `redis unavailable: ${latest?.message ?? 'no connection'}`);
    outageTimer = setTimeout(logOutage, repeatEveryMs).unref();
  };

  client.on('error', (err: Error) => {
    // A cluster's error names the node it came from (redis-cluster.ts): the diagnosis names that node.
    latest = diagnoseRedisError(err, (err as { redisUrl?: string }).redisUrl ?? options.url);
    const now = Date.now();
    if (!everReady) {
      if (now - lastErrorLog < repeatEveryMs && downSince !== undefined) return;
      downSince ??= now;
      lastErrorLog = now;
      logger.error(
        { err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, setting: latest.setting },
        `redis: ${latest.message}`,
      );
      return;
    }
    if (downSince !== undefined) return;
    downSince = now;
    logger.warn({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, `redis: ${latest.message}`);
    outageTimer = setTimeout(logOutage, outageAfterMs).unref();
  });
  client.on('ready', () => {
    clearTimeout(outageTimer);
    if (downSince !== undefined && everReady) logger.info({ down_ms: Date.now() - downSince }, 'redis ready again');
    else logger.info({ redis: redisTarget(options.url) }, 'redis ready');
    everReady = true;
    downSince = undefined;
    lastErrorLog = 0;
  });
}

/** A connection that could not be made, with what to check. */
export class RedisConnectError extends Error {
  constructor(readonly diagnosis: RedisDiagnosis) {
    super(diagnosis.message);
    this.name = 'RedisConnectError';
  }
}

/**
 * Connects once (a client made with `reconnect: false`), or fails within `ms` saying why: for a
 * command-line tool, where retrying forever in silence is the worst answer.
 */
export async function connectWithin(client: { connect(): Promise<unknown>; destroy(): void }, url: string, ms: number): Promise<void> {
  try {
    await withDeadline(client.connect(), 'redis connect', ms);
  } catch (err) {
    client.destroy();
    throw new RedisConnectError(diagnoseRedisError(err, url));
  }
}

/** PING with a deadline: a Redis that is up but not answering counts as down. */
export function pingWithin(client: { ping(): Promise<string> }, ms: number): Promise<boolean> {
  return withDeadline(client.ping(), 'redis ping', ms).then(
    (reply) => reply === 'PONG',
    () => false,
  );
}
