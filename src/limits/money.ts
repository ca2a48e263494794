/**
 * Money is kept as integer micro-dollars (1 USD = 1,000,000) so that sums never drift.
 * Conversions round through nano-dollars first, which absorbs binary float noise
 * (0.0001 * 1e6 is 100.00000000000001), then round in the direction that is safe.
 */
const NANOS_PER_MICRO = 1000;

/** Amounts we were told to allow (settings, client caps): never more than was written. */
export function usdToMicros(usd: number): number {
  return Math.floor(Math.round(usd * 1e9) / NANOS_PER_MICRO);
}

/** Amounts we charge (Perf's reported cost): never less than was spent. */
export function costToMicros(usd: number): number {
  return Math.ceil(Math.round(usd * 1e9) / NANOS_PER_MICRO);
}

export function microsToUsd(micros: number): number {
  return micros / 1e6;
}
