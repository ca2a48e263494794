import { Accounts } from '../auth/accounts';
import { createPasswordHasher } from '../auth/passwords';
import type { Config } from '../config';
import { createLogger } from '../infra/logger';
import { connectWithin, RedisConnectError } from '../infra/redis';
import { diagnoseRedisError } from '../infra/redis-diagnosis';
import { RedisPlanStore } from '../stores/plan-store';
import { createStoreClient } from '../stores/redis-client';
import { createClusterStoreClient } from '../stores/redis-cluster-client';
import { RedisSessionIndex } from '../stores/session-index';
import { RedisSpendLog } from '../stores/spend-log';
import { RedisUserStore } from '../stores/user-store';

/** One attempt, and the whole connection (TCP, TLS, AUTH) within the deadline: an answer within 10 s either way. */
const CONNECT_TIMEOUT_MS = 5000;
const CONNECT_DEADLINE_MS = 8000;

export interface AccountStore {
  accounts: Accounts;
  spend: RedisSpendLog;
  close(): Promise<void>;
}

/**
 * The accounts in Redis, for the command-line tools: connected once, within a deadline, or a
 * RedisConnectError that names the setting to fix (never a silent wait).
 */
export async function openAccountStore(config: Config, redisUrl: string): Promise<AccountStore> {
  const once = { tlsRejectUnauthorized: config.redisTlsRejectUnauthorized, connectTimeoutMs: CONNECT_TIMEOUT_MS, reconnect: false };
  // On a cluster, REDIS_URL's seeds (redisUrl is the first of them: the one a failure is reported against).
  const redis = config.redisCluster
    ? createClusterStoreClient({ ...once, urls: config.redisUrls }, createLogger('silent'))
    : createStoreClient({ ...once, url: redisUrl }, createLogger('silent'));
  // A cluster that could not be discovered only says so ("all the root nodes are unavailable"): its nodes' errors say why.
  let reason: unknown;
  redis.on('error', (err: Error) => (reason ??= err));
  try {
    await connectWithin(redis, redisUrl, CONNECT_DEADLINE_MS);
  } catch (err) {
    if (config.redisCluster && reason !== undefined) throw new RedisConnectError(diagnoseRedisError(reason, redisUrl));
    throw err;
  }
  const prefix = config.redisKeyPrefix;
  const stores = {
    users: new RedisUserStore(redis, prefix),
    sessions: new RedisSessionIndex(redis, prefix),
    plans: new RedisPlanStore(redis, prefix),
  };
  return {
    accounts: new Accounts(stores, createPasswordHasher(), new Set(config.plans.keys())),
    spend: new RedisSpendLog(redis, prefix, config.spendHistoryDays),
    close: () => redis.close(),
  };
}
