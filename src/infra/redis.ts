import { createClient } from 'redis';
import type { Logger } from './logger';

/**
 * A Redis that is connected but silent (paused, overloaded, a black-holed network) must not hold
 * requests either: every command gives up after this long, well inside the 2 s a caller may wait.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 1500;

function buildClient(url: string, socket: Record<string, unknown>, commandTimeoutMs: number) {
  return createClient({ url, disableOfflineQueue: true, socket, commandOptions: { timeout: commandTimeoutMs } });
}

export type RedisClient = ReturnType<typeof buildClient>;

export interface RedisOptions {
  url: string;
  tlsRejectUnauthorized: boolean;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

/**
 * A client that fails fast instead of queueing: with the offline queue on, every command issued
 * while Redis is away waits forever and so would the browser.
 */
export function createRedisClient(options: RedisOptions, logger: Logger): RedisClient {
  const tls = options.url.startsWith('rediss://');
  const socket = {
    connectTimeout: options.connectTimeoutMs ?? 2000,
    reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 2000),
    ...(tls ? { tls: true, rejectUnauthorized: options.tlsRejectUnauthorized } : {}),
  };
  const client = buildClient(options.url, socket, options.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS);
  let lastErrorLog = 0;
  client.on('error', (err: Error) => {
    // One line a few seconds is enough while Redis is away; the reconnect loop would flood the log.
    const now = Date.now();
    if (now - lastErrorLog > 5000) {
      lastErrorLog = now;
      logger.error({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'redis error');
    }
  });
  client.on('ready', () => logger.info('redis ready'));
  return client;
}

/** PING with a deadline: a Redis that is up but not answering counts as down. */
export async function pingWithin(client: RedisClient, ms: number): Promise<boolean> {
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
