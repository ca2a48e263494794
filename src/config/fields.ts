import { z } from 'zod';
import { PLAN_NAME_PATTERN } from '../limits/plans';

/**
 * How one setting is read from its environment variable: trimmed, an empty value meaning unset,
 * and a message that says what a good value looks like (the value itself is never repeated back).
 */

export const PERF_KEY_PATTERN = /^pk_(test|live)_[A-Za-z0-9_-]{8,}$/;
/** Plain http is allowed for a service on this machine (a local stand-in or tunnel), nowhere else. */
export const LOOPBACK_URL = /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/;

export const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/** Unset, or empty: the fallback (undefined when the default depends on other settings). */
function withFallback(fallback: string | undefined) {
  return z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : v));
}

export function integer(min: number, max: number, fallback: number) {
  return withFallback(String(fallback))
    .pipe(z.string().regex(/^\d+$/, 'must be a whole number'))
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** An integer whose default is decided later, from other settings. */
export function optionalInteger(min: number, max: number) {
  return withFallback(undefined).pipe(
    z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
      .optional(),
  );
}

export function usd(min: number, max: number, fallback: number) {
  return withFallback(String(fallback))
    .pipe(z.string().regex(/^\d+(\.\d{1,6})?$/, 'must be a dollar amount such as 0.01 (at most 6 decimals)'))
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** A plain decimal number such as 1.25. */
export function decimal(min: number, max: number, fallback: number) {
  return withFallback(String(fallback))
    .pipe(z.string().regex(/^\d+(\.\d{1,4})?$/, 'must be a number such as 1.25'))
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

export function boolean(fallback: boolean) {
  return withFallback(String(fallback))
    .transform((v) => v?.toLowerCase())
    .pipe(z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }))
    .transform((v) => v === 'true' || v === '1');
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return withFallback(fallback)
    .transform((v) => v?.toLowerCase())
    .pipe(z.enum(values, { error: `must be ${values.slice(0, -1).join(', ')} or ${values[values.length - 1] ?? ''}` }));
}

/** A comma-separated list: items trimmed, empty ones dropped; unset is []. */
export function list(item: z.ZodType<string, string>) {
  return optionalText
    .transform((v) =>
      v === undefined
        ? []
        : v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
    )
    .pipe(z.array(item));
}

export function planName() {
  return optionalText.pipe(z.string().regex(PLAN_NAME_PATTERN, 'must be a plan name').optional());
}
