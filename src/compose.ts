import path from 'node:path';
import type { Express } from 'express';
import type { Agent } from 'undici';
import { createApp } from './app';
import { OidcProvider } from './auth/oidc/provider';
import { createPasswordHasher } from './auth/passwords';
import type { PasswordHasher, ScryptCost } from './auth/passwords';
import { sessionSettings, sessionTtlSeconds } from './auth/sessions';
import { configWarnings } from './config';
import type { Config } from './config';
import { startStandIn, withDemoUser } from './dev/demo';
import type { PerfStandIn } from './dev/perf-stand-in';
import type { Logger } from './infra/logger';
import { Metrics } from './infra/metrics';
import { PriceBook } from './chat/price-book';
import { diagnoseRedisError } from './infra/redis-diagnosis';
import type { LedgerWindow } from './limits/ledger-window';
import { createPerfDispatcher, PerfClient } from './perf/client';
import { createStores } from './stores';
import type { Stores } from './stores';
import { createSessionClient, createStoreClient } from './stores/redis-client';
import type { RedisClient, SessionClient } from './stores/redis-client';
import { createClusterStoreClient, keepConnecting } from './stores/redis-cluster-client';
import { redisAnswers } from './stores/store-redis';
import type { StoreRedis } from './stores/store-redis';

/** Seams for tests; the process passes none of them. */
export interface ComposeOptions {
  now?: () => number;
  ledgerWindow?: LedgerWindow;
  /** A low scrypt cost makes test sign-ins cheap; production keeps PRODUCTION_SCRYPT. */
  scryptCost?: ScryptCost;
  perfBackoffBaseMs?: number;
  publicDir?: string;
  /** Replace some stores, e.g. a ledger whose Redis is unreachable. */
  storeOverrides?: (stores: Stores) => Partial<Stores>;
  /** Node's process metrics (several apps in one test process would each collect them). */
  defaultMetrics?: boolean;
  /** The environment the settings came from (for the start-up warnings); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Everything one instance of the app is made of, wired once, for the process and the tests alike. */
export interface Composition {
  app: Express;
  config: Config;
  logger: Logger;
  stores: Stores;
  redis: StoreRedis | undefined;
  /** The sessions' cached connection, when REDIS_SESSION_CACHE is on (one Redis, not a cluster). */
  sessionRedis: SessionClient | undefined;
  metrics: Metrics;
  passwords: PasswordHasher;
  /** The built-in Perf stand-in, when no PERF_API_KEY is set. */
  standIn: PerfStandIn | undefined;
  /** From now on /readyz answers 503 (a shutdown has begun). */
  beginShutdown(): void;
  /** Closes what was opened here (Perf's connections, Redis, the stand-in), each within a bound. */
  close(): Promise<void>;
}

/** The one composition root: `server.ts` and the tests build the app through it. */
export async function compose(config: Config, logger: Logger, options: ComposeOptions = {}): Promise<Composition> {
  for (const warning of configWarnings(config, options.env ?? process.env)) logger.warn(warning);
  const metrics = new Metrics({ defaultMetrics: options.defaultMetrics ?? true });
  const { redis, sessionRedis, stopConnecting } = await connectRedis(config, logger, metrics);
  if (config.sessionSecretGenerated) logger.warn('NO SESSION_SECRET: a random one was generated; sessions end when the process restarts');
  const target = await choosePerf(config, logger);
  const passwords = createPasswordHasher(options.scryptCost);
  const stores = await buildStores(config, { redis, sessionRedis }, passwords, logger, target.standIn !== undefined, options);
  const dispatcher = createPerfDispatcher();
  const perf = buildPerfClient(target, dispatcher, logger, metrics, options);
  const prices = new PriceBook({ store: stores.prices, filePrices: config.prices, logger, metrics, now: options.now ?? Date.now });
  // Learned prices are read once here and refreshed in the background; a Redis not reachable yet only delays them.
  await prices.refresh();
  prices.start();
  let shuttingDown = false;
  const app = createApp({
    config,
    logger,
    stores,
    perf,
    prices,
    passwords,
    metrics,
    ready: async () => (redis === undefined ? true : sessionRedis?.isReady !== false && (await redisAnswers(redis, 1000))),
    shuttingDown: () => shuttingDown,
    publicDir: options.publicDir ?? path.join(__dirname, '..', 'public'),
    oidc: oidcProvider(config, logger),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  return {
    app,
    config,
    logger,
    stores,
    redis,
    sessionRedis,
    metrics,
    passwords,
    standIn: target.standIn,
    beginShutdown: () => {
      shuttingDown = true;
    },
    close: () => {
      prices.stop();
      stopConnecting();
      return closeAll(dispatcher, [redis, sessionRedis], target.standIn);
    },
  };
}

interface RedisConnections {
  redis: StoreRedis | undefined;
  sessionRedis: SessionClient | undefined;
}

/**
 * Redis when REDIS_URL is set (a cluster with REDIS_CLUSTER=true), and on one Redis the sessions'
 * own cached connection unless REDIS_SESSION_CACHE is 0; starting without it reachable is allowed
 * (/readyz says 503 until it is).
 */
async function connectRedis(config: Config, logger: Logger, metrics: Metrics): Promise<RedisConnections & { stopConnecting: () => void }> {
  if (config.redisUrl === undefined) {
    logger.warn(
      'NO REDIS_URL: sessions, users, rate limits and budgets live in this process only and vanish on restart (embedded default)',
    );
    return { redis: undefined, sessionRedis: undefined, stopConnecting: () => undefined };
  }
  if (!config.redisTlsRejectUnauthorized) logger.warn('REDIS_TLS_REJECT_UNAUTHORIZED=false: the Redis certificate is not verified');
  const tlsRejectUnauthorized = config.redisTlsRejectUnauthorized;
  if (config.redisCluster) {
    const cluster = createClusterStoreClient({ urls: config.redisUrls, tlsRejectUnauthorized }, logger);
    cluster.on('node-error', () => metrics.redisErrors.inc());
    const attempts = keepConnecting(cluster);
    await Promise.race([attempts.firstAttempt, delay(5000)]);
    // No client-side cache on a cluster: sessions are read from their shard on every request.
    return { redis: cluster, sessionRedis: undefined, stopConnecting: () => attempts.stop() };
  }
  const url = config.redisUrl;
  const redis = createStoreClient({ url, tlsRejectUnauthorized }, logger);
  const sessionRedis =
    config.redisSessionCache > 0 ? createSessionClient({ url, tlsRejectUnauthorized, cacheEntries: config.redisSessionCache }) : undefined;
  const connect = (client: RedisClient | SessionClient): Promise<void> => {
    client.on('error', () => metrics.redisErrors.inc());
    return client.connect().then(
      () => undefined,
      (err: unknown) => {
        const { message, setting } = diagnoseRedisError(err, url);
        logger.error({ setting }, `redis: ${message}`);
      },
    );
  };
  await Promise.race([Promise.all([connect(redis), ...(sessionRedis === undefined ? [] : [connect(sessionRedis)])]), delay(5000)]);
  return { redis, sessionRedis, stopConnecting: () => undefined };
}

/** The identity provider's client, when OIDC_ISSUER is set (discovery waits for the first sign-in). */
function oidcProvider(config: Config, logger: Logger): OidcProvider | undefined {
  const { oidc, publicUrl } = config;
  if (oidc === undefined || publicUrl === undefined) return undefined;
  return new OidcProvider({
    issuer: oidc.issuer,
    clientId: oidc.clientId,
    clientSecret: oidc.clientSecret,
    scopes: oidc.scopes,
    redirectUri: `${publicUrl}/auth/oidc/callback`,
    postLogoutRedirectUri: `${publicUrl}/`,
    planClaim: oidc.planClaim,
    logger,
  });
}

interface PerfTarget {
  baseUrl: string;
  apiKey: string;
  standIn: PerfStandIn | undefined;
}

/** Perf itself with PERF_API_KEY; otherwise the built-in stand-in on loopback. */
async function choosePerf(config: Config, logger: Logger): Promise<PerfTarget> {
  if (config.perfApiKey !== undefined) return { baseUrl: config.perfBaseUrl, apiKey: config.perfApiKey, standIn: undefined };
  const started = await startStandIn();
  logger.warn('NO PERF_API_KEY: the built-in Perf stand-in answers every chat; no model is called and nothing is billed');
  return { baseUrl: started.baseUrl, apiKey: started.apiKey, standIn: started.standIn };
}

async function buildStores(
  config: Config,
  { redis, sessionRedis }: RedisConnections,
  passwords: PasswordHasher,
  logger: Logger,
  demo: boolean,
  options: ComposeOptions,
): Promise<Stores> {
  const now = options.now ?? Date.now;
  const created = createStores(redis, {
    prefix: config.redisKeyPrefix,
    sessionTtlSeconds: sessionTtlSeconds(sessionSettings(config), now),
    login: { maxFailures: config.loginMaxFailures, maxFailuresPerIp: config.loginMaxFailuresPerIp, blockSeconds: config.loginBlockSeconds },
    spendHistoryDays: config.spendHistoryDays,
    priceHalfLifeMs: config.priceHalfLifeMs,
    now,
    logger,
    sessionRedis,
    ...(options.ledgerWindow === undefined ? {} : { ledgerWindow: options.ledgerWindow }),
  });
  const stores: Stores = { ...created, ...options.storeOverrides?.(created) };
  return demo ? { ...stores, users: await withDemoUser(stores.users, passwords, logger) } : stores;
}

function buildPerfClient(target: PerfTarget, dispatcher: Agent, logger: Logger, metrics: Metrics, options: ComposeOptions): PerfClient {
  return new PerfClient({
    baseUrl: target.baseUrl,
    apiKey: target.apiKey,
    logger,
    dispatcher,
    ...(options.perfBackoffBaseMs === undefined ? {} : { backoffBaseMs: options.perfBackoffBaseMs }),
    onKeyEcho: (where) => {
      metrics.keyEchoes.inc();
      logger.error({ where }, 'Perf sent our API key back: it was replaced before reaching the browser or the log');
    },
    onAttempt: ({ status, error, durationMs }) => {
      if (durationMs !== undefined)
        metrics.upstreamLatencyOf(status === undefined ? (error ?? 'error') : String(status)).observe(durationMs / 1000);
    },
  });
}

/**
 * A graceful close waits for every reply still owed; a silent Redis (or Perf) would owe them
 * forever. Writes still in flight get a grace period, then the sockets are cut.
 */
async function closeAll(
  dispatcher: Agent,
  clients: ReadonlyArray<StoreRedis | SessionClient | undefined>,
  standIn: PerfStandIn | undefined,
): Promise<void> {
  await closeWithin(
    () => dispatcher.close(),
    () => dispatcher.destroy(),
    2000,
  );
  const open = clients.filter((client): client is StoreRedis | SessionClient => client?.isOpen === true);
  await Promise.all(
    open.map((client) =>
      closeWithin(
        () => client.close(),
        () => client.destroy(),
        2000,
      ),
    ),
  );
  await standIn?.close();
}

async function closeWithin(close: () => Promise<unknown>, destroy: () => unknown, ms: number): Promise<void> {
  const closed = await Promise.race([
    close().then(
      () => true,
      () => true,
    ),
    delay(ms).then(() => false),
  ]);
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
