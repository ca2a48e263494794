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
