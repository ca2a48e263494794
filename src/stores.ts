import { RedisStore } from 'connect-redis';
import type { Store } from 'express-session';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { MemorySessionStore } from './auth/memory-session-store';
import { sessionTtlSeconds } from './auth/sessions';
import { MemoryUserStore, RedisUserStore } from './auth/user-store';
import type { UserStore } from './auth/user-store';
import type { Config } from './config';
import type { RedisClient } from './infra/redis';
import { DeadlineSessionStore } from './auth/deadline-session-store';
import { DAY_WINDOW } from './limits/ledger';
import type { Ledger, LedgerWindow } from './limits/ledger';
import { MemoryLedger } from './limits/memory-ledger';
import { createLimiter, UserRateLimit } from './limits/rate-limit';
import { RedisLedger } from './limits/redis-ledger';

/** Everything that holds state: in Redis (shared by all instances) or in this process. */
export interface Stores {
  mode: 'redis' | 'memory';
  sessions: Store;
  users: UserStore;
  rateLimit: UserRateLimit;
  loginThrottle: RateLimiterAbstract;
  /** Failed sign-ins per IP, whatever the username: each attempt costs a scrypt. */
  loginIpThrottle: RateLimiterAbstract;
  ledger: Ledger;
}

export interface StoreOptions {
  now?: () => number;
  ledgerWindow?: LedgerWindow;
  maxMemorySessions?: number;
}

export function createStores(config: Config, redis: RedisClient | undefined, options: StoreOptions = {}): Stores {
  const now = options.now ?? Date.now;
  const window = options.ledgerWindow ?? DAY_WINDOW;
  const prefix = config.redisKeyPrefix;
  const ttl = sessionTtlSeconds(config, now);
  const rateLimit = new UserRateLimit(
    createLimiter({ points: config.rateLimitRequests, durationSeconds: config.rateLimitWindowSeconds, keyPrefix: `${prefix}rl:chat` }, redis),
    now,
  );
  const loginThrottle = createLimiter({ points: config.loginMaxFailures, durationSeconds: config.loginBlockSeconds, keyPrefix: `${prefix}rl:login` }, redis);
  const loginIpThrottle = createLimiter({ points: config.loginMaxFailuresPerIp, durationSeconds: config.loginBlockSeconds, keyPrefix: `${prefix}rl:login-ip` }, redis);
  if (redis === undefined) {
    return {
      mode: 'memory',
      sessions: new MemorySessionStore({ maxSessions: options.maxMemorySessions ?? 10_000, ttlSeconds: ttl, now }),
      users: new MemoryUserStore(),
      rateLimit,
      loginThrottle,
      loginIpThrottle,
      ledger: new MemoryLedger(config.dailyBudgetMicros, window, now),
    };
  }
  return {
    mode: 'redis',
    // Touches are off: sessionTimeouts() rewrites a session only when its activity mark is stale.
    sessions: new DeadlineSessionStore(new RedisStore({ client: redis, prefix: `${prefix}sess:`, ttl, disableTouch: true })),
    users: new RedisUserStore(redis, prefix),
    rateLimit,
    loginThrottle,
    loginIpThrottle,
    ledger: new RedisLedger(redis, prefix, config.dailyBudgetMicros, window, now),
  };
}
