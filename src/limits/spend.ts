import type { SpendSource } from './settle-policy';

export type { SpendSource };

/** One user's calls and spend on one day (UTC), on one plan. */
export interface SpendEntry {
  user: string;
  plan: string;
  calls: number;
  reportedMicros: number;
  /** Streams that reported no cost, charged our estimate (× the margin, at most the cap). */
  estimatedMicros: number;
  /** Whole caps kept: the cost was unknown. */
  keptMicros: number;
}

/** Per user and per day: how many calls, and what they were charged (`npm run users -- usage`). */
export interface SpendLog {
  /** One settled call; `charged` is undefined when its reservation was handed back. */
  record(day: string, user: string, plan: string, charged: { source: SpendSource; micros: number } | undefined): Promise<void>;
  day(day: string): Promise<SpendEntry[]>;
  /** One user's entry on one plan and day (zeros when there is none). */
  entry(day: string, user: string, plan: string): Promise<SpendEntry>;
}

/** YYYY-MM-DD, UTC. */
export function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}
