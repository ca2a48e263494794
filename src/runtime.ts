import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import type { Config } from './config';
import { startStandIn, withDemoUser } from './dev/demo';
import type { PerfStandIn } from './dev/perf-stand-in';
import type { Logger } from './infra/logger';
import { Metrics } from './infra/metrics';
import { createRedisClient, pingWithin } from './infra/redis';
import type { RedisClient } from './infra/redis';
import { createPerfDispatcher, PerfClient } from './perf/client';
import { createStores } from './stores';

export interface Running {
  server: Server;
  url: string;
  /** Graceful: stop accepting, let in-flight calls and streams finish, close Redis. */
  shutdown(reason: string): Promise<void>;
  /** The built-in Perf stand-in when no PERF_API_KEY is set (tests script its answers). */
  standIn?: PerfStandIn;
}

/** Wires the real process: Redis or memory, Perf or its stand-in, then listens. */
export async function start(config: Config, logger: Logger): Promise<Running> {
  const metrics = new Metrics();
  let redis: RedisClient | undefined;
  if (config.redisUrl !== undefined) {
    redis = createRedisClient({ url: config.redisUrl, tlsRejectUnauthorized: config.redisTlsRejectUnauthorized }, logger);
    redis.on('error', () => metrics.redisErrors.inc());
    if (!config.redisTlsRejectUnauthorized) logger.warn('REDIS_TLS_REJECT_UNAUTHORIZED=false: the Redis certificate is not verified');
    // Starting without Redis is allowed: /readyz says 503 and the client keeps reconnecting.
    await Promise.race([redis.connect().catch((err: unknown) => logger.error({ err: { message: (err as Error).message } }, 'redis connect failed')), delay(5000)]);
  } else {
    logger.warn('NO REDIS_URL: sessions, users, rate limits and budgets live in this process only and vanish on restart (embedded default)');
  }
  if (config.sessionSecretGenerated) logger.warn('NO SESSION_SECRET: a random one was generated; sessions end when the process restarts');

  let standIn: PerfStandIn | undefined;
  let perfBaseUrl = config.perfBaseUrl;
  let perfApiKey = config.perfApiKey;
  if (perfApiKey === undefined) {
    const started = await startStandIn();
    standIn = started.standIn;
    perfBaseUrl = started.baseUrl;
    perfApiKey = started.apiKey;
    logger.warn('NO PERF_API_KEY: the built-in Perf stand-in answers every chat; no model is called and nothing is billed');
  }

  const created = createStores(config, redis);
  const stores = standIn === undefined ? created : { ...created, users: await withDemoUser(created.users, logger) };
  const dispatcher = createPerfDispatcher();
  const perf = new PerfClient({
    baseUrl: perfBaseUrl,
    apiKey: perfApiKey,
    logger,
    dispatcher,
    onAttempt: ({ status, error, durationMs }) => {
      if (durationMs !== undefined) metrics.upstreamLatency.observe({ outcome: status === undefined ? (error ?? 'error') : String(status) }, durationMs / 1000);
    },
  });
  let shuttingDown = false;
  const app = createApp({
    config,
    logger,
    stores,
    perf,
    ready: async () => (redis === undefined ? true : redis.isReady && (await pingWithin(redis, 1000))),
    shuttingDown: () => shuttingDown,
    metrics,
  });

  const server = createServer(app);
  // Above Heroku's 55 s router idle limit, so the router always closes idle connections first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(err.code === 'EADDRINUSE' ? `port ${config.port} is already in use (set PORT)` : `cannot listen on port ${config.port}: ${err.message}`));
    });
    server.listen(config.port, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, mode: stores.mode, perf: standIn === undefined ? 'perf' : 'stand-in' }, `perf-bff listening on http://localhost:${port}`);

  let closing: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      logger.info({ reason, timeout_ms: config.shutdownTimeoutMs }, 'shutting down: finishing in-flight requests');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // server.close() only closes the connections idle at that moment; a keep-alive connection
      // whose answer finishes later would stay open until keepAliveTimeout (65 s) and hold the
      // shutdown to its timeout. Closing idle ones as they appear lets it end with the last answer.
      const sweeper = setInterval(() => server.closeIdleConnections(), 100);
      server.closeIdleConnections();
      const timedOut = await Promise.race([closed.then(() => false), delay(config.shutdownTimeoutMs).then(() => true)]);
      clearInterval(sweeper);
      if (timedOut) {
        logger.warn('shutdown timeout reached: closing the remaining connections');
        server.closeAllConnections();
      }
      // A graceful close waits for every reply still owed; a silent Redis (or Perf) would owe them
      // forever. Ledger writes still in flight get this grace period, then the sockets are cut.
      await closeWithin(() => dispatcher.close(), () => dispatcher.destroy(), 2000);
      const client = redis;
      if (client?.isOpen === true) await closeWithin(() => client.close(), () => client.destroy(), 2000);
      await standIn?.close();
      logger.info('shut down');
    })();
    return closing;
  };
  return { server, url: `http://127.0.0.1:${port}`, shutdown, ...(standIn === undefined ? {} : { standIn }) };
}

async function closeWithin(close: () => Promise<unknown>, destroy: () => unknown, ms: number): Promise<void> {
  const closed = await Promise.race([close().then(() => true, () => true), delay(ms).then(() => false)]);
  if (!closed) {
    try {
      await destroy();
    } catch {
      // Already gone.
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
