import { withDeadline } from '../infra/deadline';
import { pingWithin } from '../infra/redis';
import { keySchema } from './keys';
import type { KeySchema } from './keys';
import type { RedisClient } from './redis-client';
import type { RedisClusterClient } from './redis-cluster-client';

/** What the Redis stores are given: one Redis, or a Redis Cluster (REDIS_CLUSTER=true). */
export type StoreRedis = RedisClient | RedisClusterClient;

export function isCluster(redis: StoreRedis): redis is RedisClusterClient {
  return 'masters' in redis;
}

/** The key layout that fits the client: tagged on a cluster, the historical names on one Redis. */
export function keysFor(redis: StoreRedis, prefix: string): KeySchema {
  return keySchema(prefix, isCluster(redis));
}

/** Ready when connected and answering within `ms`: on a cluster, every master. */
export async function redisAnswers(redis: StoreRedis, ms: number): Promise<boolean> {
  if (!redis.isReady) return false;
  if (!isCluster(redis)) return pingWithin(redis, ms);
  try {
    // A master being replaced may still be connecting: the whole check is bounded, not just the PINGs.
    const answers = Promise.all(redis.masters.map(async (node) => pingWithin(await redis.nodeClient(node), ms)));
    return (await withDeadline(answers, 'cluster ping', ms)).every(Boolean);
  } catch {
    return false;
  }
}
