import { withDeadline } from '../infra/deadline';
import type { SpendEntry, SpendLog, SpendSource } from '../limits/spend';
import type { KeySchema } from './keys';
import { keysFor } from './store-redis';
import type { StoreRedis } from './store-redis';

/** A field's last part → the entry's number. `kept` is the cap_kept source's field (its name from before estimates). */
const FIELDS = { calls: 'calls', reported: 'reportedMicros', estimated: 'estimatedMicros', kept: 'keptMicros' } as const;
const FIELD_OF: Record<SpendSource, keyof typeof FIELDS> = { reported: 'reported', estimated: 'estimated', cap_kept: 'kept' };

function entriesFrom(fields: Record<string, string>): SpendEntry[] {
  const byUser = new Map<string, SpendEntry>();
  for (const [field, value] of Object.entries(fields)) {
    const [user = '', plan = '', what = ''] = field.split('\t');
    const key = `${user}\t${plan}`;
    const entry = byUser.get(key) ?? { user, plan, calls: 0, reportedMicros: 0, estimatedMicros: 0, keptMicros: 0 };
    if (what in FIELDS) entry[FIELDS[what as keyof typeof FIELDS]] += Number(value);
    byUser.set(key, entry);
  }
  return [...byUser.values()];
}

/**
 * One hash per day, `spend:<day>`, fields `<user>\t<plan>\t<calls|reported|estimated|kept>`, kept
 * `days` days. On a cluster the day is cut into slices by user (keys.ts), read back together.
 */
export class RedisSpendLog implements SpendLog {
  private readonly keys: KeySchema;

  constructor(
    private readonly redis: StoreRedis,
    prefix: string,
    private readonly days: number,
  ) {
    this.keys = keysFor(redis, prefix);
  }

  async record(day: string, user: string, plan: string, charged: { source: SpendSource; micros: number } | undefined): Promise<void> {
    const key = this.keys.spendOf(day, user);
    const write = this.redis.multi();
    write.hIncrBy(key, `${user}\t${plan}\tcalls`, 1);
    if (charged !== undefined && charged.micros > 0) write.hIncrBy(key, `${user}\t${plan}\t${FIELD_OF[charged.source]}`, charged.micros);
    write.expire(key, (this.days + 1) * 86_400);
    await withDeadline(write.exec(), 'spend log');
  }

  async day(day: string): Promise<SpendEntry[]> {
    const slices = await withDeadline(Promise.all(this.keys.spendDay(day).map((key) => this.redis.hGetAll(key))), 'spend log');
    // A user's fields are all in one slice: the slices never hold the same field twice.
    return entriesFrom(Object.assign({}, ...slices) as Record<string, string>);
  }

  async entry(day: string, user: string, plan: string): Promise<SpendEntry> {
    const fields = Object.keys(FIELDS).map((what) => `${user}\t${plan}\t${what}`);
    const values = await withDeadline(this.redis.hmGet(this.keys.spendOf(day, user), fields), 'spend log');
    return entryOf(user, plan, Object.fromEntries(fields.map((f, i) => [f, values[i] ?? '0'])));
  }
}

function entryOf(user: string, plan: string, fields: Record<string, string>): SpendEntry {
  return entriesFrom(fields)[0] ?? { user, plan, calls: 0, reportedMicros: 0, estimatedMicros: 0, keptMicros: 0 };
}

export class MemorySpendLog implements SpendLog {
  private readonly byDay = new Map<string, Record<string, string>>();

  constructor(private readonly days: number) {}

  record(day: string, user: string, plan: string, charged: { source: SpendSource; micros: number } | undefined): Promise<void> {
    let fields = this.byDay.get(day);
    if (fields === undefined) {
      // A new day: the only time the history can grow past its length.
      fields = {};
      this.byDay.set(day, fields);
      for (const old of [...this.byDay.keys()].sort().slice(0, Math.max(0, this.byDay.size - this.days))) this.byDay.delete(old);
    }
    const add = (what: string, n: number) => {
      const field = `${user}\t${plan}\t${what}`;
      fields[field] = String(Number(fields[field] ?? '0') + n);
    };
    add('calls', 1);
    if (charged !== undefined && charged.micros > 0) add(FIELD_OF[charged.source], charged.micros);
    return Promise.resolve();
  }

  day(day: string): Promise<SpendEntry[]> {
    return Promise.resolve(entriesFrom(this.byDay.get(day) ?? {}));
  }

  entry(day: string, user: string, plan: string): Promise<SpendEntry> {
    const fields = this.byDay.get(day) ?? {};
    const mine = Object.fromEntries(Object.entries(fields).filter(([f]) => f.startsWith(`${user}\t${plan}\t`)));
    return Promise.resolve(entryOf(user, plan, mine));
  }
}
