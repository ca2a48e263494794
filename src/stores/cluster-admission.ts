import { withDeadline } from '../infra/deadline';
import type { Logger } from '../infra/logger';
import type { AdmissionStore, AdmitRequest, AdmitResult, Budget, RateState, SettleOutcome, Standing, Window } from '../limits/admission';
import { tightest } from '../limits/admission';
import type { LedgerWindow } from '../limits/ledger-window';
import { keySchema } from './keys';
import type { KeySchema } from './keys';
import type { RedisClusterClient } from './redis-cluster-client';
import { admitArgs, standingFrom, windowArgs, windowStates } from './ledger-replies';
import { SettleRetries } from './settle-retries';
import { bySubject } from './subjects';
import type { Subject } from './subjects';

/**
 * The rate limits and ledgers on a Redis Cluster: the scripts of redis-scripts.ts, run once per
 * subject (keys.ts: a subject's window and ledger share the slot `{u:<id>}`), never across slots.
 *
 * A call that counts in several subjects (the user and the operator's ceiling; a guest, their
 * address and the guests' pool) is admitted by all of their steps at once, each on its own shard,
 * in parallel: one round trip, as on one Redis. Each step checks its own budget and reserves in it
 * atomically, so no budget can ever hold more than it allows, whatever runs concurrently on any
 * instance. When any step refuses (a window full, a budget without room), the reservations the
 * other steps made are handed back at once. The difference from one Redis: for that moment,
 * a refused call holds the cap in the budgets that did have room, which can only make another call
 * be refused, never let one through. A step that fails (a node down) fails the admission (503);
 * the caller hands back whatever was reserved (chat/admission.ts), retried until the slot answers.
 */
export class ClusterAdmissionStore implements AdmissionStore {
  private readonly keys: KeySchema;
  private readonly retries: SettleRetries;

  constructor(
    private readonly redis: RedisClusterClient,
    prefix: string,
    private readonly window: LedgerWindow,
    private readonly now: () => number = Date.now,
    logger?: Logger,
  ) {
    this.keys = keySchema(prefix, true);
    this.retries = new SettleRetries(logger);
  }

  /** Settlements waiting for their slot to come back. */
  get settlementsPending(): number {
    return this.retries.size;
  }

  async admit({ reservationId, capMicros, windows, budgets }: AdmitRequest): Promise<AdmitResult> {
    const now = this.now();
    const subjects = bySubject(windows, budgets);
    const replies = await Promise.allSettled(subjects.map((s) => this.admitStep(s, reservationId, capMicros, now)));
    const failed = replies.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const steps = replies.map((r, i) => ({ subject: subjects[i] as Subject, reply: (r as PromiseFulfilledResult<number[]>).value }));

    const counts = new Array<RateState>(windows.length);
    const used = new Array<number>(budgets.length).fill(0);
    const refusals: { at: number; retryAfter: number; neverFits: boolean }[] = [];
    let windowRefused = false;
    const reserved: Subject[] = [];
    for (const { subject, reply } of steps) {
      const states = windowStates(
        reply,
        subject.windows.map((w) => w.window),
        now,
      );
      subject.windows.forEach(({ at }, i) => (counts[at] = states[i] as RateState));
      const [made = -1, refusedBy = 0, retryAfter = 1, neverFits = 0, ...totals] = reply.slice(2 * subject.windows.length);
      if (made === -1) windowRefused = true;
      if (made === 1 && subject.budgets.length > 0) reserved.push(subject);
      subject.budgets.forEach(({ at }, j) => (used[at] = totals[j] ?? 0));
      const refusing = subject.budgets[refusedBy - 1];
      if (made === 0 && refusing !== undefined) refusals.push({ at: refusing.at, retryAfter, neverFits: neverFits === 1 });
    }
    const rate = tightest(counts);
    if (!windowRefused && refusals.length === 0) return { rate, reservation: { ok: true }, used };

    await this.handBack(reservationId, reserved);
    for (const subject of reserved) for (const { at } of subject.budgets) used[at] = (used[at] ?? 0) - capMicros;
    if (windowRefused) return { rate, used: [] };
    // The first budget in the caller's order speaks, as on one Redis (own budget before the pools).
    const first = refusals.reduce((a, b) => (b.at < a.at ? b : a));
    return { rate, reservation: { ok: false, retryAfterSeconds: first.retryAfter, neverFits: first.neverFits, refusedBy: first.at }, used };
  }

  private admitStep(subject: Subject, reservationId: string, capMicros: number, now: number): Promise<number[]> {
    const args = admitArgs(
      this.window,
      now,
      capMicros,
      reservationId,
      subject.windows.map((w) => w.window),
      subject.budgets.map((b) => b.budget),
    );
    const windowKeys = subject.windows.map(() => this.keys.rateWindow(subject.id));
    const ledgerKeys = subject.budgets.map(() => this.keys.ledger(subject.id));
    return withDeadline(this.redis.ledgerAdmit(windowKeys, ledgerKeys, args), 'admission');
  }

  /** Reservations made by the steps of a call that was refused elsewhere. */
  private async handBack(reservationId: string, subjects: readonly Subject[]): Promise<void> {
    await this.settle(
      reservationId,
      subjects.map((s) => s.id),
      { kind: 'release' },
    );
  }

  async hit(windows: readonly Window[]): Promise<RateState> {
    const now = this.now();
    const subjects = bySubject(windows, []);
    const replies = await withDeadline(
      Promise.all(
        subjects.map((s) =>
          this.redis.ledgerHit(
            s.windows.map(() => this.keys.rateWindow(s.id)),
            s.windows.map(({ window: w }) => w.windowSeconds),
          ),
        ),
      ),
      'rate limit',
    );
    const states = subjects.flatMap((s, k) =>
      windowStates(
        replies[k] ?? [],
        s.windows.map((w) => w.window),
        now,
      ),
    );
    return tightest(states);
  }

  /**
   * Closes the reservation in each subject's ledger, each on its own shard, in parallel. A ledger
   * whose slot does not answer is settled later (settle-retries.ts); the call resolves either way.
   */
  async settle(reservationId: string, budgetIds: readonly string[], outcome: SettleOutcome): Promise<void> {
    const cost = outcome.kind === 'charge' ? outcome.micros : 0;
    await Promise.all(
      [...new Set(budgetIds)].map(async (id) => {
        const key = this.keys.ledger(id);
        const attempt = async () => {
          await withDeadline(this.redis.ledgerSettle([key], reservationId, outcome.kind, cost), 'settlement');
        };
        try {
          await attempt();
        } catch (err) {
          this.retries.add(`${reservationId}\t${key}`, attempt, err);
        }
      }),
    );
  }

  async status(windows: readonly Window[], budgets: readonly Budget[]): Promise<Standing> {
    const now = this.now();
    const subjects = bySubject(windows, budgets);
    const replies = await withDeadline(
      Promise.all(
        subjects.map((s) =>
          this.redis.ledgerStatus(
            s.windows.map(() => this.keys.rateWindow(s.id)),
            s.budgets.map(() => this.keys.ledger(s.id)),
            windowArgs(this.window, now),
          ),
        ),
      ),
      'usage',
    );
    const standing: Standing = {
      rates: new Array<Standing['rates'][number]>(windows.length),
      budgets: new Array<Standing['budgets'][number]>(budgets.length),
    };
    subjects.forEach((s, k) => {
      const own = standingFrom(
        replies[k] ?? [],
        s.windows.map((w) => w.window),
        s.budgets.map((b) => b.budget),
        this.window,
        now,
      );
      s.windows.forEach(({ at }, i) => (standing.rates[at] = own.rates[i] as Standing['rates'][number]));
      s.budgets.forEach(({ at }, j) => (standing.budgets[at] = own.budgets[j] as Standing['budgets'][number]));
    });
    return standing;
  }
}
