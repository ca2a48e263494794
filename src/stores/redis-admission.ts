import { withDeadline } from '../infra/deadline';
import type { AdmissionStore, AdmitRequest, AdmitResult, Budget, RateState, SettleOutcome, Standing, Window } from '../limits/admission';
import { rateState, tightest } from '../limits/admission';
import type { LedgerWindow } from '../limits/ledger-window';
import { keySchema } from './keys';
import type { RedisClient } from './redis-client';
import type { WindowArgs } from './redis-scripts';

/** The rate limits and the ledgers in Redis, shared by every instance (scripts in redis-scripts.ts). */
export class RedisAdmissionStore implements AdmissionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly window: LedgerWindow,
    private readonly now: () => number = Date.now,
  ) {}

  private ledgerKey(id: string): string {
    return keySchema(this.prefix, false).ledger(id);
  }

  private rateKey(id: string): string {
    return keySchema(this.prefix, false).rateWindow(id);
  }

  private windowArgs(now: number): WindowArgs {
    return [now, this.window.windowMs, this.window.bucketMs, this.window.staleReservationMs];
  }

  async admit({ reservationId, capMicros, windows, budgets }: AdmitRequest): Promise<AdmitResult> {
    const now = this.now();
    const args = [
      ...this.windowArgs(now),
      capMicros,
      reservationId,
      windows.length,
      ...windows.flatMap((w) => [w.requestsPerWindow, w.windowSeconds]),
      ...budgets.map((b) => b.budgetMicros ?? -1),
    ];
    const reply = await withDeadline(
      this.redis.ledgerAdmit(
        windows.map((w) => this.rateKey(w.id)),
        budgets.map((b) => this.ledgerKey(b.id)),
        args,
      ),
      'admission',
    );
    const rate = tightest(windows.map((w, i) => rateState(w.requestsPerWindow, reply[2 * i] ?? 0, reply[2 * i + 1] ?? 0, now)));
    const [reserved = -1, refusedBy = 0, retryAfter = 1, neverFits = 0, ...used] = reply.slice(2 * windows.length);
    if (reserved === -1) return { rate, used };
    if (reserved === 1) return { rate, reservation: { ok: true }, used };
    return { rate, reservation: { ok: false, retryAfterSeconds: retryAfter, neverFits: neverFits === 1, refusedBy: refusedBy - 1 }, used };
  }

  async hit(windows: readonly Window[]): Promise<RateState> {
    const now = this.now();
    const reply = await withDeadline(
      this.redis.ledgerHit(
        windows.map((w) => this.rateKey(w.id)),
        windows.map((w) => w.windowSeconds),
      ),
      'rate limit',
    );
    return tightest(windows.map((w, i) => rateState(w.requestsPerWindow, reply[2 * i] ?? 0, reply[2 * i + 1] ?? 0, now)));
  }

  async settle(reservationId: string, budgetIds: readonly string[], outcome: SettleOutcome): Promise<void> {
    const cost = outcome.kind === 'charge' ? outcome.micros : 0;
    await withDeadline(
      this.redis.ledgerSettle(
        budgetIds.map((id) => this.ledgerKey(id)),
        reservationId,
        outcome.kind,
        cost,
      ),
      'settlement',
    );
  }

  async status(windows: readonly Window[], budgets: readonly Budget[]): Promise<Standing> {
    const now = this.now();
    const reply = await withDeadline(
      this.redis.ledgerStatus(
        windows.map((w) => this.rateKey(w.id)),
        budgets.map((b) => this.ledgerKey(b.id)),
        this.windowArgs(now),
      ),
      'usage',
    );
    const rates = windows.map((w, i) => {
      const count = reply[2 * i] ?? 0;
      const ttl = reply[2 * i + 1] ?? -2;
      return {
        ...rateState(w.requestsPerWindow, count, ttl < 0 ? w.windowSeconds * 1000 : ttl, now),
        allowed: count < w.requestsPerWindow,
      };
    });
    const at = 2 * windows.length;
    return {
      rates,
      budgets: budgets.map((b, j) => {
        const [used = 0, reserved = 0, oldest = -1] = reply.slice(at + 3 * j, at + 3 * j + 3);
        return {
          limitMicros: b.budgetMicros,
          usedMicros: used,
          reservedMicros: reserved,
          resetAt: oldest < 0 ? null : Math.ceil((oldest + this.window.bucketMs + this.window.windowMs) / 1000),
        };
      }),
    };
  }
}
