import { Accounts } from '../auth/accounts';
import { createPasswordHasher } from '../auth/passwords';
import type { Config } from '../config';
import { createLogger } from '../infra/logger';
import { connectWithin } from '../infra/redis';
import { RedisPlanStore } from '../stores/plan-store';
import { createStoreClient } from '../stores/redis-client';
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
  const redis = createStoreClient(
    { url: redisUrl, tlsRejectUnauthorized: config.redisTlsRejectUnauthorized, connectTimeoutMs: CONNECT_TIMEOUT_MS, reconnect: false },
    createLogger('silent'),
  );
  await connectWithin(redis, redisUrl, CONNECT_DEADLINE_MS);
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
