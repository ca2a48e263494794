import type { RedisClientOptions } from 'redis';
import type { Logger } from './logger';

export interface RedisConnectionOptions {
  url: string;
  tlsRejectUnauthorized: boolean;
  connectTimeoutMs?: number;
}

/**
 * How every Redis connection of ours behaves: it fails fast instead of queueing (with the offline
 * queue on, every command issued while Redis is away waits forever, and so would the browser),
 * reconnects with a capped backoff, and checks certificates unless told otherwise.
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
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 2000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 2000),
      ...(tls ? { tls: true, rejectUnauthorized: options.tlsRejectUnauthorized } : {}),
    },
  };
}

interface Observable {
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
}

/** One log line every few seconds while Redis is away: the reconnect loop would flood the log. */
export function logConnectionEvents(client: Observable, logger: Logger): void {
  let lastErrorLog = 0;
  client.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastErrorLog > 5000) {
      lastErrorLog = now;
      logger.error({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'redis error');
    }
  });
  client.on('ready', () => logger.info('redis ready'));
}

/** PING with a deadline: a Redis that is up but not answering counts as down. */
export async function pingWithin(client: { ping(): Promise<string> }, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([client.ping().then((r) => r === 'PONG'), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
