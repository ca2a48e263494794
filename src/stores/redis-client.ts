import { createClient } from 'redis';
import { connectionOptions, watchConnection } from '../infra/redis';
import type { RedisConnectionOptions } from '../infra/redis';
import type { Logger } from '../infra/logger';
import { PRICE_SCRIPTS } from './price-store';
import { ADMISSION_SCRIPTS } from './redis-scripts';

/** The stores' Redis client: our connection behaviour, with the admission scripts registered. */
export function createStoreClient(options: RedisConnectionOptions, logger: Logger) {
  const client = createClient({ ...connectionOptions(options), scripts: { ...ADMISSION_SCRIPTS, ...PRICE_SCRIPTS } });
  watchConnection(client, logger, { url: options.url });
  return client;
}

export type RedisClient = ReturnType<typeof createStoreClient>;

/**
 * A cached session is dropped this long after it was read even if Redis never said it changed: a
 * bound on staleness should an invalidation ever be lost in a way the client cannot see (a lost
 * connection already empties the cache).
 */
const SESSION_CACHE_TTL_MS = 60_000;

/**
 * The session store's own connection, speaking RESP3 with client-side caching: a session read once
 * is served from this process until Redis says it changed (CLIENT TRACKING sends the invalidation on
 * every write, expiry or deletion of the key: a sign-out, a revocation from the CLI or another
 * instance, a rewritten session). A hot session then costs no round trip. Only the session store
 * uses it, so the other stores keep RESP2's replies. node-redis empties the cache whenever the
 * connection errs or closes, when invalidations could have been missed.
 */
export function createSessionClient(options: RedisConnectionOptions & { cacheEntries: number }) {
  const client = createClient({
    ...connectionOptions(options),
    RESP: 3,
    clientSideCache: { maxEntries: options.cacheEntries, ttl: SESSION_CACHE_TTL_MS, evictPolicy: 'LRU' },
  });
  // Not watched: the stores' connection to the same Redis already logs its outages once (two
  // watchers would say everything twice). This one's failures are failed session reads (503s),
  // counted in perf_bff_redis_errors_total, and a first connection that fails is logged by the caller.
  client.on('error', () => undefined);
  return client;
}

export type SessionClient = ReturnType<typeof createSessionClient>;
