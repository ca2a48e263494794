import { RedisStore } from 'connect-redis';
import type { SessionData, Store } from 'express-session';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { AdmissionStore } from '../limits/admission';
import { DAY_WINDOW } from '../limits/ledger-window';
import type { LedgerWindow } from '../limits/ledger-window';
import { DeadlineSessionStore } from './deadline-session-store';
import { MemoryAdmissionStore } from './memory-admission';
import { MemorySessionStore } from './memory-session-store';
import { RedisAdmissionStore } from './redis-admission';
import { MemoryPlanStore, RedisPlanStore } from './plan-store';
import type { PlanStore } from '../limits/plans';
import { MemorySessionIndex, RedisSessionIndex } from './session-index';
import type { SessionIndex } from './session-index';
import type { SessionClient } from './redis-client';
import { ClusterAdmissionStore } from './cluster-admission';
import type { Logger } from '../infra/logger';
import { keySchema } from './keys';
import { isCluster } from './store-redis';
import type { StoreRedis } from './store-redis';
import { MemorySpendLog, RedisSpendLog } from './spend-log';
import type { SpendLog } from '../limits/spend';
import { MemoryPriceStore, RedisPriceStore } from './price-store';
import type { PriceStore } from '../limits/prices';
import { createThrottle } from './throttles';
import { MemoryUserStore, RedisUserStore } from './user-store';
import type { UserStore } from './user-store';

/** Everything that holds state: in Redis (shared by all instances) or in this process. */
export interface Stores {
  mode: 'redis' | 'memory';
  sessions: Store;
  /** Each user's open sessions, so that they can all be ended at once. */
  sessionIndex: SessionIndex;
  users: UserStore;
  /** The chat rate limits and the spend ledgers. */
  admission: AdmissionStore;
  /** Which plan each user is on. */
  plans: PlanStore;
  /** Calls and spend per user and day. */
  spend: SpendLog;
  /** What each model costs per token, learned from Perf's answers. */
  prices: PriceStore;
  /** Sign-in attempts per username and IP. */
  loginThrottle: RateLimiterAbstract;
  /** Failed sign-ins per IP, whatever the username: each attempt costs a scrypt. */
  loginIpThrottle: RateLimiterAbstract;
}

export interface StoreOptions {
  /** Key prefix in Redis, so several apps can share one. */
  prefix: string;
  /** Seconds a session may still live in the store (its idle and absolute timeouts). */
  sessionTtlSeconds: (sess: SessionData) => number;
  login: { maxFailures: number; maxFailuresPerIp: number; blockSeconds: number };
  /** Days of per-user spend kept. */
  spendHistoryDays: number;
  /** How fast learned prices forget old answers. */
  priceHalfLifeMs: number;
  now?: () => number;
  /** The sessions' own cached connection (see createSessionClient); else the stores' client. */
  sessionRedis?: SessionClient | undefined;
  ledgerWindow?: LedgerWindow;
  maxMemorySessions?: number;
  /** For what the stores do on their own (settlements retried on a cluster). */
  logger?: Logger;
}

export function createStores(redis: StoreRedis | undefined, options: StoreOptions): Stores {
  const now = options.now ?? Date.now;
  const window = options.ledgerWindow ?? DAY_WINDOW;
  const { prefix, login } = options;
  const keys = keySchema(prefix, redis !== undefined && isCluster(redis));
  const loginThrottle = createThrottle(
    { points: login.maxFailures, durationSeconds: login.blockSeconds, keyPrefix: keys.loginThrottlePrefix },
    redis,
  );
  const loginIpThrottle = createThrottle(
    { points: login.maxFailuresPerIp, durationSeconds: login.blockSeconds, keyPrefix: keys.loginIpThrottlePrefix },
    redis,
  );
  if (redis === undefined) {
    const sessions = new MemorySessionStore({
      maxSessions: options.maxMemorySessions ?? 10_000,
      ttlSeconds: options.sessionTtlSeconds,
      now,
    });
    return {
      mode: 'memory',
      sessions,
      sessionIndex: new MemorySessionIndex(sessions, now),
      users: new MemoryUserStore(),
      admission: new MemoryAdmissionStore(window, now),
      plans: new MemoryPlanStore(),
      spend: new MemorySpendLog(options.spendHistoryDays),
      prices: new MemoryPriceStore(options.priceHalfLifeMs),
      loginThrottle,
      loginIpThrottle,
    };
  }
  return {
    mode: 'redis',
    // Touches are off: sessionTimeouts() rewrites a session only when its activity mark is stale.
    sessions: new DeadlineSessionStore(
      new RedisStore({
        client: options.sessionRedis ?? redis,
        prefix: keys.sessionPrefix,
        ttl: options.sessionTtlSeconds,
        disableTouch: true,
      }),
    ),
    sessionIndex: new RedisSessionIndex(redis, prefix, now),
    users: new RedisUserStore(redis, prefix),
    // On a cluster no step may span two slots: admission goes subject by subject.
    admission: isCluster(redis)
      ? new ClusterAdmissionStore(redis, prefix, window, now, options.logger)
      : new RedisAdmissionStore(redis, prefix, window, now),
    plans: new RedisPlanStore(redis, prefix),
    spend: new RedisSpendLog(redis, prefix, options.spendHistoryDays),
    prices: new RedisPriceStore(redis, prefix, options.priceHalfLifeMs),
    loginThrottle,
    loginIpThrottle,
  };
}
