import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { withDeadline } from '../infra/deadline';
import type { RedisClient } from '../infra/redis';

export interface RateLimitState {
  limit: number;
  remaining: number;
  /** Unix seconds when the window resets. */
  resetAt: number;
  allowed: boolean;
  retryAfterSeconds: number;
}

export interface LimiterSpec {
  points: number;
  durationSeconds: number;
  keyPrefix: string;
}

/**
 * Redis-backed when a client is given (shared by every instance), memory otherwise. With Redis,
 * a per-instance memory limiter takes over while Redis is unreachable, so a Redis outage never
 * lifts the limit altogether.
 */
export function createLimiter(spec: LimiterSpec, redis: RedisClient | undefined): RateLimiterAbstract {
  const options = { points: spec.points, duration: spec.durationSeconds, keyPrefix: spec.keyPrefix };
  if (redis === undefined) return new RateLimiterMemory(options);
  return new RateLimiterRedis({
    ...options,
    storeClient: redis,
    useRedisPackage: true,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory(options),
  });
}

/** The per-user request limit on /api/chat, as numbers for headers and /api/usage. */
export class UserRateLimit {
  constructor(
    private readonly limiter: RateLimiterAbstract,
    private readonly now: () => number = Date.now,
  ) {}

  get limit(): number {
    return this.limiter.points;
  }

  /** The user's counter key when the limit lives in Redis; undefined in memory. */
  redisKey(user: string): string | undefined {
    return this.limiter instanceof RateLimiterRedis ? this.limiter.getKey(user) : undefined;
  }

  async consume(user: string): Promise<RateLimitState> {
    try {
      return this.toState(await withDeadline(this.limiter.consume(user), 'rate limit'), true);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return this.toState(rejection, false);
      throw rejection;
    }
  }

  async peek(user: string): Promise<RateLimitState> {
    const res = await withDeadline(this.limiter.get(user), 'rate limit');
    if (res === null) {
      return { limit: this.limit, remaining: this.limit, resetAt: Math.ceil(this.now() / 1000) + this.limiter.duration, allowed: true, retryAfterSeconds: 0 };
    }
    return this.toState(res, res.remainingPoints > 0);
  }

  private toState(res: RateLimiterRes, allowed: boolean): RateLimitState {
    return {
      limit: this.limit,
      remaining: Math.max(0, res.remainingPoints),
      resetAt: Math.ceil((this.now() + res.msBeforeNext) / 1000),
      allowed,
      retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    };
  }
}
