import { microsToUsd } from '../limits/money';
import type { SpendEntry } from '../limits/spend';

export interface UsageReport {
  day: string;
  users: {
    user: string;
    plan: string;
    calls: number;
    reported_usd: number;
    estimated_usd: number;
    cap_kept_usd: number;
    total_usd: number;
  }[];
  totals: { calls: number; reported_usd: number; estimated_usd: number; cap_kept_usd: number; total_usd: number };
}

const total = (e: SpendEntry): number => e.reportedMicros + e.estimatedMicros + e.keptMicros;

/** A day's spend per user, biggest first, with the totals (of every user, not only the top ones). */
export function usageReport(day: string, entries: readonly SpendEntry[], top: number | undefined): UsageReport {
  const users = entries
    .map((e) => ({
      user: e.user,
      plan: e.plan,
      calls: e.calls,
      reported_usd: microsToUsd(e.reportedMicros),
      estimated_usd: microsToUsd(e.estimatedMicros),
      cap_kept_usd: microsToUsd(e.keptMicros),
      total_usd: microsToUsd(total(e)),
    }))
    .sort((a, b) => b.total_usd - a.total_usd || b.calls - a.calls || a.user.localeCompare(b.user));
  const micros = (pick: (e: SpendEntry) => number) => entries.reduce((sum, e) => sum + pick(e), 0);
  return {
    day,
    users: top === undefined ? users : users.slice(0, top),
    totals: {
      calls: micros((e) => e.calls),
      reported_usd: microsToUsd(micros((e) => e.reportedMicros)),
      estimated_usd: microsToUsd(micros((e) => e.estimatedMicros)),
      cap_kept_usd: microsToUsd(micros((e) => e.keptMicros)),
      total_usd: microsToUsd(micros(total)),
    },
  };
}

/** The report as a plain-text table. */
export function formatUsage(report: UsageReport): string {
  const usd = (n: number) => `$${n.toFixed(6)}`;
  const rows = [
    ['user', 'plan', 'calls', 'reported', 'estimated', 'caps kept', 'total'],
    ...report.users.map((u) => [
      u.user,
      u.plan,
      String(u.calls),
      usd(u.reported_usd),
      usd(u.estimated_usd),
      usd(u.cap_kept_usd),
      usd(u.total_usd),
    ]),
    [
      'total',
      '',
      String(report.totals.calls),
      usd(report.totals.reported_usd),
      usd(report.totals.estimated_usd),
      usd(report.totals.cap_kept_usd),
      usd(report.totals.total_usd),
    ],
  ];
  const widths = rows[0]?.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i >= 2 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [`spend on ${report.day} (UTC)`, ...rows.map(line)].join('\n') + '\n';
}
