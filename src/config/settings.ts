import { z } from 'zod';
import { USERNAME_PATTERN } from '../auth/usernames';
import { MODEL_PATTERN } from '../limits/plans';
import { boolean, decimal, integer, list, oneOf, optionalInteger, optionalText, PERF_KEY_PATTERN, planName, usd } from './fields';

/** Every environment variable the process reads, each validated on its own. */
export const settingsSchema = z.object({
  NODE_ENV: optionalText,
  DYNO: optionalText,
  PORT: integer(0, 65535, 3000),
  // The key's value never appears in a message: only whether it is well formed.
  PERF_API_KEY: optionalText.refine((v) => v === undefined || PERF_KEY_PATTERN.test(v), {
    error: 'is not a Perf key (expected pk_test_… or pk_live_…); its value is not shown',
  }),
  PERF_BASE_URL: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'https://api.withperf.pro' : v.replace(/\/+$/, '')))
    .pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
  SESSION_SECRET: list(z.string()).refine((secrets) => secrets.every((s) => s.length >= 32), {
    error: 'every comma-separated secret must be at least 32 characters',
  }),
  // One URL; with REDIS_CLUSTER=true, one or more of the cluster's nodes, comma-separated.
  REDIS_URL: list(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })),
  REDIS_CLUSTER: boolean(false),
  REDIS_TLS_REJECT_UNAUTHORIZED: boolean(true),
  // Sessions kept in this process between requests, invalidated by Redis on every change; 0: none.
  REDIS_SESSION_CACHE: integer(0, 1_000_000, 10_000),
  REDIS_KEY_PREFIX: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'perf-bff:' : v))
    .pipe(z.string().regex(/^[\w:.-]{1,64}$/, 'may use letters, digits and _ : . - (at most 64)')),
  RATE_LIMIT_REQUESTS: integer(1, 1_000_000, 20),
  RATE_LIMIT_WINDOW_SECONDS: integer(1, 86_400, 60),
  MAX_COST_PER_CALL: usd(0.000001, 1000, 0.01),
  DAILY_BUDGET_USD: usd(0, 1_000_000, 1),
  // Default 60 s, or 25 s on Heroku (DYNO set), where the router ends a request with no byte in 30 s.
  UPSTREAM_TIMEOUT_MS: optionalInteger(100, 600_000),
  STREAM_START_TIMEOUT_MS: integer(100, 600_000, 60_000),
  // Well inside the router's 30 s (first byte) and 55 s (idle) windows.
  STREAM_HEARTBEAT_MS: integer(1_000, 25_000, 15_000),
  STREAM_IDLE_TIMEOUT_MS: integer(100, 600_000, 30_000),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000, 25_000),
  REQUEST_TIMEOUT_MS: integer(1_000, 300_000, 30_000),
  HEADERS_TIMEOUT_MS: integer(1_000, 60_000, 10_000),
  KEEP_ALIVE_TIMEOUT_MS: integer(56_000, 600_000, 65_000),
  SESSION_IDLE_TIMEOUT_SECONDS: integer(60, 30 * 86_400, 2 * 3600),
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: integer(60, 365 * 86_400, 12 * 3600),
  LOGIN_MAX_FAILURES: integer(1, 1000, 5),
  LOGIN_MAX_FAILURES_PER_IP: integer(1, 100_000, 50),
  LOGIN_BLOCK_SECONDS: integer(1, 86_400, 15 * 60),
  TRUST_PROXY: optionalText.pipe(
    z
      .string()
      .regex(/^\d{1,2}$/, 'must be a hop count such as 1 (never "true")')
      .optional(),
  ),
  ALLOWED_ORIGINS: list(z.string().regex(/^https?:\/\/[^/\s]+$/, 'must list origins such as https://app.example.com (no path)')),
  PUBLIC_URL: optionalText.pipe(
    z
      .url({ protocol: /^https?$/, error: "must be the app's external URL, such as https://chat.example.com" })
      .refine((v) => new URL(v).pathname === '/' && new URL(v).search === '', {
        error: 'must be an origin without a path (https://chat.example.com)',
      })
      .transform((v) => new URL(v).origin)
      .optional(),
  ),
  SESSION_COOKIE_SAMESITE: oneOf(['strict', 'lax', 'none'], 'strict'),
  ALLOWED_MODELS: optionalText
    .transform((v) =>
      v === undefined || v === '*'
        ? ('*' as const)
        : v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
    )
    .pipe(
      z.union([
        z.literal('*'),
        z.array(z.string().regex(MODEL_PATTERN, 'must list model names such as gpt-4o-mini, comma-separated (or *)')).min(1),
      ]),
    ),
  PASSWORD_SIGN_IN: boolean(true),
  ADMIN_USERNAME: optionalText.pipe(
    z.string().toLowerCase().regex(USERNAME_PATTERN, 'must be a username: letters, digits and . _ - (at most 64)').optional(),
  ),
  OIDC_ISSUER: optionalText.pipe(z.url({ protocol: /^https?$/, error: "must be the provider's issuer URL (https://…)" }).optional()),
  OIDC_CLIENT_ID: optionalText,
  OIDC_CLIENT_SECRET: optionalText,
  OIDC_SCOPES: optionalText
    .transform((v) => v ?? 'openid email profile')
    .pipe(
      z
        .string()
        .regex(/(^|\s)openid(\s|$)/, 'must include openid')
        .regex(/^[\w.:/-]+( [\w.:/-]+)*$/, 'must be scopes separated by spaces'),
    ),
  OIDC_ALLOWED_EMAIL_DOMAINS: list(
    z
      .string()
      .toLowerCase()
      .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, 'must list email domains such as example.com'),
  ),
  OIDC_PROVIDER_NAME: optionalText.pipe(z.string().max(40, 'must be at most 40 characters').optional()),
  OIDC_PLAN_CLAIM: optionalText.pipe(
    z
      .string()
      .regex(/^[\w.:/-]{1,100}$/, 'must be a claim name')
      .optional(),
  ),
  PLANS_FILE: optionalText,
  DEFAULT_PLAN: planName(),
  GUEST_PLAN: planName(),
  GUEST_POOL_DAILY_BUDGET_USD: usd(0, 1_000_000, 1),
  GLOBAL_DAILY_BUDGET_USD: usd(0, 100_000_000, 0),
  SPEND_HISTORY_DAYS: integer(1, 400, 35),
  // A stream that reports no cost is charged min(cap, estimate × this).
  STREAM_COST_MARGIN: decimal(1, 10, 1.25),
  PRICES_FILE: optionalText,
  PRICE_HALF_LIFE_HOURS: integer(1, 8760, 24),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  METRICS_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 16, {
    error: 'must be at least 16 characters',
  }),
});

export type Settings = z.output<typeof settingsSchema>;
export type SettingName = keyof Settings;
export type Env = Readonly<Record<string, string | undefined>>;

export interface ReadSettings {
  /** Every setting that parsed; the ones in `invalid` are missing. */
  readonly values: Partial<Settings>;
  readonly invalid: ReadonlySet<SettingName>;
  readonly problems: readonly string[];
}

/**
 * Reads each setting on its own, so that one bad value does not hide the checks that span
 * several settings: those still run for every setting that parsed.
 */
export function readSettings(env: Env): ReadSettings {
  const values: Record<string, unknown> = {};
  const invalid = new Set<SettingName>();
  const problems: string[] = [];
  for (const [name, field] of Object.entries(settingsSchema.shape) as [SettingName, z.ZodType][]) {
    const parsed = field.safeParse(env[name]);
    if (parsed.success) {
      values[name] = parsed.data;
      continue;
    }
    invalid.add(name);
    // One message per setting: the first thing wrong with it.
    problems.push(`${name} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  }
  return { values: values, invalid, problems };
}
