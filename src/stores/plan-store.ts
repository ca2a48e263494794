import { withDeadline } from '../infra/deadline';
import type { KeySchema } from './keys';
import { keysFor } from './store-redis';
import type { StoreRedis } from './store-redis';

import type { PlanStore } from '../limits/plans';

export class RedisPlanStore implements PlanStore {
  private readonly keys: KeySchema;

  constructor(
    private readonly redis: StoreRedis,
    prefix: string,
  ) {
    this.keys = keysFor(redis, prefix);
  }

  private key(user: string): string {
    return this.keys.plan(user);
  }

  async get(user: string): Promise<string | undefined> {
    return (await withDeadline(this.redis.get(this.key(user)), 'plan lookup')) ?? undefined;
  }

  async set(user: string, plan: string | undefined): Promise<void> {
    if (plan === undefined) await withDeadline(this.redis.del(this.key(user)), 'plan write');
    else await withDeadline(this.redis.set(this.key(user), plan), 'plan write');
  }
}

export class MemoryPlanStore implements PlanStore {
  private readonly plans = new Map<string, string>();

  get(user: string): Promise<string | undefined> {
    return Promise.resolve(this.plans.get(user));
  }

  set(user: string, plan: string | undefined): Promise<void> {
    if (plan === undefined) this.plans.delete(user);
    else this.plans.set(user, plan);
    return Promise.resolve();
  }
}
