import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { StoreRedis } from './store-redis';

export interface ThrottleSpec {
  points: number;
  durationSeconds: number;
  keyPrefix: string;
}

/**
 * A rate-limiter-flexible limiter for sign-in attempts: Redis-backed when a client is given
 * (shared by every instance), memory otherwise. With Redis, a per-instance memory limiter takes
 * over while Redis is unreachable, so an outage never lifts the throttle altogether.
 */
export function createThrottle(spec: ThrottleSpec, redis: StoreRedis | undefined): RateLimiterAbstract {
  const options = { points: spec.points, duration: spec.durationSeconds, keyPrefix: spec.keyPrefix };
  if (redis === undefined) return new RateLimiterMemory(options);
  return new RateLimiterRedis({
    ...options,
    storeClient: redis,
    // rate-limiter-flexible does not recognise node-redis v5+ clients by itself. Each of its steps
    // touches one key, so on a cluster it goes to that key's master like any other command.
    useRedisPackage: true,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory(options),
  });
}
