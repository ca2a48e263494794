import { withDeadline } from '../infra/deadline';
import type { AdmissionStore, AdmitRequest, AdmitResult, Budget, RateState, SettleOutcome, Standing, Window } from '../limits/admission';
import { tightest } from '../limits/admission';
import type { LedgerWindow } from '../limits/ledger-window';
import { keySchema } from './keys';
import type { KeySchema } from './keys';
import { admitArgs, standingFrom, windowArgs, windowStates } from './ledger-replies';
import type { RedisClient } from './redis-client';

/** The rate limits and the ledgers in Redis, shared by every instance (scripts in redis-scripts.ts). */
export class RedisAdmissionStore implements AdmissionStore {
  private readonly keys: KeySchema;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly window: LedgerWindow,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = keySchema(prefix, false);
  }

  async admit({ reservationId, capMicros, windows, budgets }: AdmitRequest): Promise<AdmitResult> {
    const now = this.now();
    const reply = await withDeadline(
      this.redis.ledgerAdmit(
        windows.map((w) => this.keys.rateWindow(w.id)),
        budgets.map((b) => this.keys.ledger(b.id)),
        admitArgs(this.window, now, capMicros, reservationId, windows, budgets),
      ),
      'admission',
    );
    const rate = tightest(windowStates(reply, windows, now));
    const [reserved = -1, refusedBy = 0, retryAfter = 1, neverFits = 0, ...used] = reply.slice(2 * windows.length);
    if (reserved === -1) return { rate, used };
    if (reserved === 1) return { rate, reservation: { ok: true }, used };
    return { rate, reservation: { ok: false, retryAfterSeconds: retryAfter, neverFits: neverFits === 1, refusedBy: refusedBy - 1 }, used };
  }

  async hit(windows: readonly Window[]): Promise<RateState> {
    const now = this.now();
    const reply = await withDeadline(
      this.redis.ledgerHit(
        windows.map((w) => this.keys.rateWindow(w.id)),
        windows.map((w) => w.windowSeconds),
      ),
      'rate limit',
    );
    return tightest(windowStates(reply, windows, now));
  }

  async settle(reservationId: string, budgetIds: readonly string[], outcome: SettleOutcome): Promise<void> {
    const cost = outcome.kind === 'charge' ? outcome.micros : 0;
    await withDeadline(
      this.redis.ledgerSettle(
        budgetIds.map((id) => this.keys.ledger(id)),
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
        windows.map((w) => this.keys.rateWindow(w.id)),
        budgets.map((b) => this.keys.ledger(b.id)),
        windowArgs(this.window, now),
      ),
      'usage',
    );
    return standingFrom(reply, windows, budgets, this.window, now);
  }
}
