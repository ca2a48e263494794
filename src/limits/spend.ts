/** Where a charge's amount came from: Perf's report, or the cap kept when the cost was unknown. */
export type SpendSource = 'reported' | 'kept';

/** One user's calls and spend on one day (UTC), on one plan. */
export interface SpendEntry {
  user: string;
  plan: string;
  calls: number;
  reportedMicros: number;
  keptMicros: number;
}

/** Per user and per day: how many calls, and what they were charged (`npm run users -- usage`). */
export interface SpendLog {
  /** One settled call; `charged` is undefined when its reservation was handed back. */
  record(day: string, user: string, plan: string, charged: { source: SpendSource; micros: number } | undefined): Promise<void>;
  day(day: string): Promise<SpendEntry[]>;
}

/** YYYY-MM-DD, UTC. */
export function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}
