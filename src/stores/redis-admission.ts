import { withDeadline } from '../infra/deadline';
import type { AdmissionStore, AdmitRequest, AdmitResult, BudgetStatus, Limits, RateState, SettleOutcome } from '../limits/admission';
import { rateState } from '../limits/admission';
import type { LedgerWindow } from '../limits/ledger-window';
import type { RedisClient } from './redis-client';
import type { WindowArgs } from './redis-scripts';

/** The rate limit and the ledger in Redis, shared by every instance (scripts in redis-scripts.ts). */
export class RedisAdmissionStore implements AdmissionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly window: LedgerWindow,
    private readonly now: () => number = Date.now,
  ) {}

  private ledgerKey(user: string): string {
    return `${this.prefix}ledger:${user}`;
  }

  private rateKey(user: string): string {
    return `${this.prefix}rl:chat:${user}`;
  }

  private windowArgs(now: number): WindowArgs {
    return [now, this.window.windowMs, this.window.bucketMs, this.window.staleReservationMs];
  }

  async admit({ user, reservationId, capMicros, limits }: AdmitRequest): Promise<AdmitResult> {
    const now = this.now();
    const reply = await withDeadline(
      this.redis.ledgerAdmit(
        this.ledgerKey(user),
        this.rateKey(user),
        this.windowArgs(now),
        limits.budgetMicros ?? -1,
        capMicros,
        reservationId,
        limits.requestsPerWindow,
        limits.windowSeconds,
      ),
      'admission',
    );
    const [count = 0, ttl = 0, reserved = -1, retryAfter = 1, neverFits = 0] = reply;
    const rate = rateState(limits.requestsPerWindow, count, ttl, now);
    if (reserved === -1) return { rate };
    return { rate, reservation: reserved === 1 ? { ok: true } : { ok: false, retryAfterSeconds: retryAfter, neverFits: neverFits === 1 } };
  }

  async hit(user: string, limits: Limits): Promise<RateState> {
    const now = this.now();
    const [count = 0, ttl = 0] = await withDeadline(this.redis.ledgerHit(this.rateKey(user), limits.windowSeconds), 'rate limit');
    return rateState(limits.requestsPerWindow, count, ttl, now);
  }

  async settle(user: string, reservationId: string, outcome: SettleOutcome): Promise<void> {
    await withDeadline(
      this.redis.ledgerSettle(this.ledgerKey(user), reservationId, outcome.kind, outcome.kind === 'charge' ? outcome.micros : 0),
      'settlement',
    );
  }

  async status(user: string, limits: Limits): Promise<{ rate: RateState; budget: BudgetStatus }> {
    const now = this.now();
    const [used = 0, reserved = 0, oldest = -1, count = 0, ttl = -2] = await withDeadline(
      this.redis.ledgerStatus(this.ledgerKey(user), this.rateKey(user), this.windowArgs(now)),
      'usage',
    );
    return {
      rate: {
        ...rateState(limits.requestsPerWindow, count, ttl < 0 ? limits.windowSeconds * 1000 : ttl, now),
        allowed: count < limits.requestsPerWindow,
      },
      budget: {
        limitMicros: limits.budgetMicros,
        usedMicros: used,
        reservedMicros: reserved,
        resetAt: oldest < 0 ? null : Math.ceil((oldest + this.window.bucketMs + this.window.windowMs) / 1000),
      },
    };
  }
}
