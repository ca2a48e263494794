import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { usdToMicros } from './limits/money';
import { parsePlans, planFrom } from './limits/plans';
import type { Plan, Plans } from './limits/plans';

/** Everything the process can be told from its environment, validated once at start. */
export interface Config {
  readonly production: boolean;
  readonly port: number;
  /** Absent outside production: the built-in Perf stand-in answers instead. */
  readonly perfApiKey: string | undefined;
  readonly perfBaseUrl: string;
  /** The first signs new cookies; the others still verify (rotation). */
  readonly sessionSecrets: readonly string[];
  /** True when no SESSION_SECRET was given outside production and one was generated. */
  readonly sessionSecretGenerated: boolean;
  /** Absent outside production: in-memory stores. */
  readonly redisUrl: string | undefined;
  readonly redisTlsRejectUnauthorized: boolean;
  readonly redisKeyPrefix: string;
  readonly rateLimitRequests: number;
  readonly rateLimitWindowSeconds: number;
  readonly maxCostPerCallMicros: number;
  readonly dailyBudgetMicros: number;
  readonly upstreamTimeoutMs: number;
  readonly streamIdleTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this, or it gets 408 and the socket is closed. */
  readonly requestTimeoutMs: number;
  /** The request's headers must arrive within this (slowloris). */
  readonly headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open: above the 55 s Heroku's router keeps them. */
  readonly keepAliveTimeoutMs: number;
  readonly sessionIdleTimeoutSeconds: number;
  readonly sessionAbsoluteTimeoutSeconds: number;
  readonly loginMaxFailures: number;
  readonly loginMaxFailuresPerIp: number;
  readonly loginBlockSeconds: number;
  readonly trustProxy: number;
  readonly allowedOrigins: readonly string[];
  /** The app's external origin (https://chat.example.com); undefined: taken from each request's Host. */
  readonly publicUrl: string | undefined;
  /** SameSite attribute of the session cookie. */
  readonly sessionCookieSameSite: 'strict' | 'lax' | 'none';
  /** Models a caller may ask for by name; '*' lets any name through. Leaving `model` out is always allowed (Perf routes). */
  readonly allowedModels: readonly string[] | '*';
  /** Every plan; without PLANS_FILE, one plan named "default" made of the settings above. */
  readonly plans: Plans;
  /** The plan of a user who was given none. */
  readonly defaultPlan: string;
  /** When set, visitors may chat without an account, on this plan (per session and per address). */
  readonly guestPlan: string | undefined;
  /** All guests together may spend this much per rolling 24 h (null: no pool limit). */
  readonly guestPoolDailyBudgetMicros: number | null;
  /** The operator's ceiling on the whole bill per rolling 24 h; null: none. */
  readonly globalDailyBudgetMicros: number | null;
  /** Days of per-user spend kept for `npm run users -- usage`. */
  readonly spendHistoryDays: number;
  /** Sign-in with a local username and password (users made with `npm run users`). */
  readonly passwordSignIn: boolean;
  /** Sign-in with an OpenID Connect provider, when OIDC_ISSUER is set. */
  readonly oidc: OidcConfig | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly metricsToken: string | undefined;
}

export interface OidcConfig {
  /** The issuer (discovery) URL. */
  readonly issuer: string;
  readonly clientId: string;
  /** Absent for a public client (PKCE alone). */
  readonly clientSecret: string | undefined;
  readonly scopes: string;
  /** Lowercased; empty: any email, or none. */
  readonly allowedEmailDomains: readonly string[];
  /** Shown on the page: "Sign in with <name>". */
  readonly providerName: string;
  /** A claim whose value names the user's plan; undefined: DEFAULT_PLAN (or what the operator set). */
  readonly planClaim: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A model name as Perf takes it (also what the chat schemas accept). */
export const MODEL_PATTERN = /^[\w.:/-]{1,100}$/;
const KEY_PATTERN = /^pk_(test|live)_[A-Za-z0-9_-]{8,}$/;
/** Plain http is allowed for a Perf on this machine (a local stand-in or tunnel), nowhere else. */
const LOOPBACK_URL = /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/;

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

function integer(min: number, max: number, fallback: number) {
  return z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? String(fallback) : v))
    .pipe(z.string().regex(/^\d+$/, 'must be a whole number'))
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

function usd(min: number, max: number, fallback: number) {
  return z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? String(fallback) : v))
    .pipe(z.string().regex(/^\d+(\.\d{1,6})?$/, 'must be a dollar amount such as 0.01 (at most 6 decimals)'))
    .transform(Number)
    .pipe(z.number().min(min).max(max));
}

const boolean = (fallback: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v) => (v === undefined || v === '' ? String(fallback) : v))
    .pipe(z.enum(['true', 'false', '1', '0']))
    .transform((v) => v === 'true' || v === '1');

const schema = z.object({
  NODE_ENV: optionalText,
  PORT: integer(0, 65535, 3000),
  // The key's value never appears in a message: only whether it is well formed.
  PERF_API_KEY: optionalText.refine((v) => v === undefined || KEY_PATTERN.test(v), {
    error: 'is not a Perf key (expected pk_test_… or pk_live_…); its value is not shown',
  }),
  PERF_BASE_URL: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'https://api.withperf.pro' : v.replace(/\/+$/, '')))
    .pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
  SESSION_SECRET: optionalText
    .transform((v) =>
      v
        ?.split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    )
    .refine((list) => list === undefined || (list.length > 0 && list.every((s) => s.length >= 32)), {
      error: 'every comma-separated secret must be at least 32 characters',
    }),
  REDIS_URL: optionalText.pipe(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional()),
  REDIS_TLS_REJECT_UNAUTHORIZED: boolean(true),
  REDIS_KEY_PREFIX: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'perf-bff:' : v))
    .pipe(z.string().regex(/^[\w:.-]{1,64}$/, 'may use letters, digits and _ : . - (at most 64)')),
  RATE_LIMIT_REQUESTS: integer(1, 1_000_000, 20),
  RATE_LIMIT_WINDOW_SECONDS: integer(1, 86_400, 60),
  MAX_COST_PER_CALL: usd(0.000001, 1000, 0.01),
  DAILY_BUDGET_USD: usd(0, 1_000_000, 1),
  UPSTREAM_TIMEOUT_MS: integer(100, 600_000, 60_000),
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
  ALLOWED_ORIGINS: optionalText
    .transform((v) =>
      v === undefined
        ? []
        : v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
    )
    .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'must list origins such as https://app.example.com (no path)'))),
  PUBLIC_URL: optionalText.pipe(
    z
      .url({ protocol: /^https?$/, error: "must be the app's external URL, such as https://chat.example.com" })
      .refine((v) => new URL(v).pathname === '/' && new URL(v).search === '', {
        error: 'must be an origin without a path (https://chat.example.com)',
      })
      .transform((v) => new URL(v).origin)
      .optional(),
  ),
  SESSION_COOKIE_SAMESITE: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'strict' : v))
    .pipe(z.enum(['strict', 'lax', 'none'], { error: 'must be strict, lax or none' })),
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
  OIDC_ALLOWED_EMAIL_DOMAINS: optionalText
    .transform((v) =>
      v === undefined
        ? []
        : v
            .split(',')
            .map((s) => s.trim().toLowerCase())
            .filter((s) => s !== ''),
    )
    .pipe(z.array(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, 'must list email domains such as example.com'))),
  OIDC_PROVIDER_NAME: optionalText.pipe(z.string().max(40, 'must be at most 40 characters').optional()),
  PLANS_FILE: optionalText,
  DEFAULT_PLAN: optionalText.pipe(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be a plan name')
      .optional(),
  ),
  GUEST_PLAN: optionalText.pipe(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be a plan name')
      .optional(),
  ),
  GUEST_POOL_DAILY_BUDGET_USD: usd(0, 1_000_000, 1),
  GLOBAL_DAILY_BUDGET_USD: usd(0, 100_000_000, 0),
  SPEND_HISTORY_DAYS: integer(1, 400, 35),
  OIDC_PLAN_CLAIM: optionalText.pipe(
    z
      .string()
      .regex(/^[\w.:/-]{1,100}$/, 'must be a claim name')
      .optional(),
  ),
  LOG_LEVEL: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v) => (v === undefined || v === '' ? 'info' : v))
    .pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
  METRICS_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 16, {
    error: 'must be at least 16 characters',
  }),
});

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Validates the whole environment and reports every problem at once.
 * `generateSecret` is injected so that tests stay deterministic.
 */
export function loadConfig(env: Env, generateSecret: () => string = randomSecret, readFile: (path: string) => string = readText): Config {
  const parsed = schema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // The setting's name alone: "ALLOWED_ORIGINS", not "ALLOWED_ORIGINS.2".
      problems.push(`${String(issue.path[0])} ${issue.message}`);
    }
  }
  const production = env.NODE_ENV === 'production';
  if (production) {
    for (const name of ['PERF_API_KEY', 'SESSION_SECRET', 'REDIS_URL'] as const) {
      if ((env[name] ?? '').trim() === '') problems.push(`${name} is required when NODE_ENV=production`);
    }
  }
  if (parsed.success) {
    const e = parsed.data;
    if (production && !e.PERF_BASE_URL.startsWith('https://') && !LOOPBACK_URL.test(e.PERF_BASE_URL)) {
      problems.push('PERF_BASE_URL must be https:// in production (the key travels in its Authorization header)');
    }
    if (e.SESSION_COOKIE_SAMESITE === 'none' && !production) {
      problems.push(
        'SESSION_COOKIE_SAMESITE=none needs NODE_ENV=production: browsers accept SameSite=None only on a Secure (https) cookie',
      );
    }
    if (e.OIDC_ISSUER !== undefined) {
      if (e.OIDC_CLIENT_ID === undefined) problems.push('OIDC_CLIENT_ID is required with OIDC_ISSUER');
      if (e.PUBLIC_URL === undefined)
        problems.push('PUBLIC_URL is required with OIDC_ISSUER (the redirect URI is PUBLIC_URL/auth/oidc/callback)');
      if (production && !e.OIDC_ISSUER.startsWith('https://') && !LOOPBACK_URL.test(e.OIDC_ISSUER))
        problems.push('OIDC_ISSUER must be https:// in production');
    }
    if (!e.PASSWORD_SIGN_IN && e.OIDC_ISSUER === undefined)
      problems.push('PASSWORD_SIGN_IN=false needs OIDC_ISSUER: otherwise nobody could sign in');
    if (e.HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS)
      problems.push('HEADERS_TIMEOUT_MS is longer than REQUEST_TIMEOUT_MS: the headers are part of the request');
    if (e.DAILY_BUDGET_USD > 0 && e.MAX_COST_PER_CALL > e.DAILY_BUDGET_USD) {
      problems.push('MAX_COST_PER_CALL is larger than DAILY_BUDGET_USD: no call could ever fit in a budget');
    }
  }
  const plans = parsed.success ? plansFrom(parsed.data, readFile, problems) : new Map<string, Plan>();
  if (parsed.success) {
    const e = parsed.data;
    const defaultPlan = e.DEFAULT_PLAN ?? 'default';
    if (!plans.has(defaultPlan) && plans.size > 0)
      problems.push(`DEFAULT_PLAN "${defaultPlan}" is not a plan in PLANS_FILE (${[...plans.keys()].join(', ')})`);
    if (e.GUEST_PLAN !== undefined && !plans.has(e.GUEST_PLAN) && plans.size > 0)
      problems.push(`GUEST_PLAN "${e.GUEST_PLAN}" is not a plan (${[...plans.keys()].join(', ')})`);
    if (e.OIDC_PLAN_CLAIM !== undefined && e.OIDC_ISSUER === undefined) problems.push('OIDC_PLAN_CLAIM needs OIDC_ISSUER');
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);

  const e = parsed.data;
  const secrets = e.SESSION_SECRET ?? [generateSecret()];
  const idle = e.SESSION_IDLE_TIMEOUT_SECONDS;
  const absolute = e.SESSION_ABSOLUTE_TIMEOUT_SECONDS;
  return Object.freeze({
    production,
    port: e.PORT,
    perfApiKey: e.PERF_API_KEY,
    perfBaseUrl: e.PERF_BASE_URL,
    sessionSecrets: Object.freeze(secrets),
    sessionSecretGenerated: e.SESSION_SECRET === undefined,
    redisUrl: e.REDIS_URL,
    redisTlsRejectUnauthorized: e.REDIS_TLS_REJECT_UNAUTHORIZED,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    rateLimitRequests: e.RATE_LIMIT_REQUESTS,
    rateLimitWindowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
    maxCostPerCallMicros: usdToMicros(e.MAX_COST_PER_CALL),
    dailyBudgetMicros: usdToMicros(e.DAILY_BUDGET_USD),
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
    streamIdleTimeoutMs: e.STREAM_IDLE_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
    sessionIdleTimeoutSeconds: Math.min(idle, absolute),
    sessionAbsoluteTimeoutSeconds: absolute,
    loginMaxFailures: e.LOGIN_MAX_FAILURES,
    loginMaxFailuresPerIp: e.LOGIN_MAX_FAILURES_PER_IP,
    loginBlockSeconds: e.LOGIN_BLOCK_SECONDS,
    trustProxy: e.TRUST_PROXY === undefined ? (production ? 1 : 0) : Number(e.TRUST_PROXY),
    allowedOrigins: Object.freeze(e.ALLOWED_ORIGINS),
    publicUrl: e.PUBLIC_URL,
    sessionCookieSameSite: e.SESSION_COOKIE_SAMESITE,
    allowedModels: e.ALLOWED_MODELS === '*' ? '*' : Object.freeze(e.ALLOWED_MODELS),
    plans,
    defaultPlan: e.DEFAULT_PLAN ?? 'default',
    guestPlan: e.GUEST_PLAN,
    guestPoolDailyBudgetMicros: usdToMicros(e.GUEST_POOL_DAILY_BUDGET_USD) > 0 ? usdToMicros(e.GUEST_POOL_DAILY_BUDGET_USD) : null,
    globalDailyBudgetMicros: usdToMicros(e.GLOBAL_DAILY_BUDGET_USD) > 0 ? usdToMicros(e.GLOBAL_DAILY_BUDGET_USD) : null,
    spendHistoryDays: e.SPEND_HISTORY_DAYS,
    passwordSignIn: e.PASSWORD_SIGN_IN,
    oidc:
      e.OIDC_ISSUER === undefined
        ? undefined
        : Object.freeze({
            issuer: e.OIDC_ISSUER,
            clientId: e.OIDC_CLIENT_ID ?? '',
            clientSecret: e.OIDC_CLIENT_SECRET,
            scopes: e.OIDC_SCOPES,
            allowedEmailDomains: Object.freeze(e.OIDC_ALLOWED_EMAIL_DOMAINS),
            providerName: e.OIDC_PROVIDER_NAME ?? new URL(e.OIDC_ISSUER).hostname,
            planClaim: e.OIDC_PLAN_CLAIM,
          }),
    logLevel: e.LOG_LEVEL,
    metricsToken: e.METRICS_TOKEN,
  });
}

/**
 * Settings that are valid but probably not what the operator means: said in the log at start
 * (loudly: each is about who is who, or who may call).
 */
export function configWarnings(config: Config, env: Env): string[] {
  const warnings: string[] = [];
  if (config.production && env.DYNO !== undefined && config.trustProxy === 0) {
    warnings.push(
      'TRUST_PROXY=0 on Heroku (DYNO is set): every request seems to come from the router, so the sign-in throttles count all clients as one. Set TRUST_PROXY=1.',
    );
  }
  if (config.production && config.publicUrl === undefined) {
    warnings.push(
      "PUBLIC_URL is not set: the cross-site guard takes this app's own origin from each request's Host header. Set PUBLIC_URL=https://<your app's domain>.",
    );
  }
  if (env.PLANS_FILE !== undefined && env.PLANS_FILE !== '') {
    const ignored = ['RATE_LIMIT_REQUESTS', 'RATE_LIMIT_WINDOW_SECONDS', 'DAILY_BUDGET_USD', 'MAX_COST_PER_CALL', 'ALLOWED_MODELS'].filter(
      (name) => (env[name] ?? '') !== '',
    );
    if (ignored.length > 0)
      warnings.push(`${ignored.join(', ')} ${ignored.length === 1 ? 'is' : 'are'} not used with PLANS_FILE: each plan has its own.`);
  }
  return warnings;
}

type Settings = z.output<typeof schema>;

/**
 * The plans: PLANS_FILE's, or else one plan named "default" made of the rate-limit, budget, cap
 * and model settings, so that a deployment without a plans file keeps working as it did.
 */
function plansFrom(e: Settings, readFile: (path: string) => string, problems: string[]): Map<string, Plan> {
  if (e.PLANS_FILE === undefined) {
    const plan = planFrom(e.DEFAULT_PLAN ?? 'default', {
      requests_per_window: e.RATE_LIMIT_REQUESTS,
      window_seconds: e.RATE_LIMIT_WINDOW_SECONDS,
      daily_budget_usd: e.DAILY_BUDGET_USD,
      max_cost_per_call: e.MAX_COST_PER_CALL,
      models: e.ALLOWED_MODELS,
    });
    return new Map([[plan.name, plan]]);
  }
  let text: string;
  try {
    text = readFile(e.PLANS_FILE);
  } catch (err) {
    problems.push(`PLANS_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${e.PLANS_FILE}`);
    return new Map();
  }
  const { plans, problems: found } = parsePlans(text);
  problems.push(...found.map((p) => `PLANS_FILE ${p}`));
  return new Map(plans);
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}
