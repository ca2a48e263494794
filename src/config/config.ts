import { randomBytes } from 'node:crypto';
import { usdToMicros } from '../limits/money';
import type { Plan, Plans } from '../limits/plans';
import type { UnitPrices } from '../limits/prices';
import { crossCheck, unlessUnreadable, viewOf } from './cross-checks';
import { planReferenceProblems, plansFrom, pricesFrom, readText } from './plans-from-settings';
import type { ReadFile } from './plans-from-settings';
import { readSettings } from './settings';
import type { Env, Settings } from './settings';

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
  /** Absent outside production: in-memory stores. On a cluster, the first of `redisUrls`. */
  readonly redisUrl: string | undefined;
  /** Every URL in REDIS_URL: one Redis, or a cluster's seed nodes (REDIS_CLUSTER). */
  readonly redisUrls: readonly string[];
  /** REDIS_URL names a Redis Cluster's nodes: keys carry hash tags and money steps go slot by slot. */
  readonly redisCluster: boolean;
  readonly redisTlsRejectUnauthorized: boolean;
  readonly redisKeyPrefix: string;
  /** Sessions cached in this process (Redis client-side caching); 0: every request reads Redis. */
  readonly redisSessionCache: number;
  readonly rateLimitRequests: number;
  readonly rateLimitWindowSeconds: number;
  readonly maxCostPerCallMicros: number;
  readonly dailyBudgetMicros: number;
  /** A JSON call's whole answer must arrive within this (under Heroku's 30 s router limit there). */
  readonly upstreamTimeoutMs: number;
  /** How long a stream waits for Perf's first byte (heartbeats keep the browser's connection alive meanwhile). */
  readonly streamStartTimeoutMs: number;
  /** A stream with nothing to send for this long sends an SSE comment, so no proxy takes it for dead. */
  readonly streamHeartbeatMs: number;
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
  /** A stream that reports no cost is charged min(cap, estimate × this). */
  readonly streamCostMargin: number;
  /** The operator's prices per model (PRICES_FILE); they win over learned ones. */
  readonly prices: ReadonlyMap<string, UnitPrices>;
  /** How fast learned prices forget old answers. */
  readonly priceHalfLifeMs: number;
  /** Sign-in with a local username and password (users made with `npm run users`). */
  readonly passwordSignIn: boolean;
  /** The first user, made by the release phase (`npm run bootstrap`) with a one-time password. */
  readonly adminUsername: string | undefined;
  /** Running on a Heroku dyno (DYNO is set): its router's limits apply. */
  readonly onHeroku: boolean;
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

/** Heroku's router ends a request that has sent no byte in 30 s (H12): a JSON call must be done before. */
const HEROKU_UPSTREAM_TIMEOUT_MS = 25_000;
const UPSTREAM_TIMEOUT_MS = 60_000;

/**
 * Validates the whole environment and reports every problem at once: each setting on its own,
 * then every rule between settings whose settings parsed, then the plans.
 * `generateSecret` and `readFile` are injected so that tests stay deterministic.
 */
export function loadConfig(env: Env, generateSecret: () => string = randomSecret, readFile: ReadFile = readText): Config {
  const { values, invalid, problems: fieldProblems } = readSettings(env);
  const view = viewOf(values, invalid);
  const problems = [...fieldProblems, ...crossCheck(view, env)];
  const plans =
    unlessUnreadable(() => {
      const found = plansFrom(view, readFile, problems);
      problems.push(...planReferenceProblems(view, found));
      return found;
    }) ?? new Map<string, Plan>();
  const prices = unlessUnreadable(() => pricesFrom(view, readFile, problems)) ?? new Map<string, UnitPrices>();
  if (problems.length > 0) throw new ConfigError(problems);
  return assemble(values as Settings, plans, prices, generateSecret);
}

function assemble(e: Settings, plans: Plans, prices: ReadonlyMap<string, UnitPrices>, generateSecret: () => string): Config {
  const production = e.NODE_ENV === 'production';
  const onHeroku = e.DYNO !== undefined;
  const secrets = e.SESSION_SECRET.length > 0 ? e.SESSION_SECRET : [generateSecret()];
  const idle = e.SESSION_IDLE_TIMEOUT_SECONDS;
  const absolute = e.SESSION_ABSOLUTE_TIMEOUT_SECONDS;
  const positiveOrNull = (usd: number): number | null => (usdToMicros(usd) > 0 ? usdToMicros(usd) : null);
  return Object.freeze({
    production,
    port: e.PORT,
    perfApiKey: e.PERF_API_KEY,
    perfBaseUrl: e.PERF_BASE_URL,
    sessionSecrets: Object.freeze(secrets),
    sessionSecretGenerated: e.SESSION_SECRET.length === 0,
    redisUrl: e.REDIS_URL[0],
    redisUrls: Object.freeze(e.REDIS_URL),
    redisCluster: e.REDIS_CLUSTER,
    redisTlsRejectUnauthorized: e.REDIS_TLS_REJECT_UNAUTHORIZED,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisSessionCache: e.REDIS_SESSION_CACHE,
    rateLimitRequests: e.RATE_LIMIT_REQUESTS,
    rateLimitWindowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
    maxCostPerCallMicros: usdToMicros(e.MAX_COST_PER_CALL),
    dailyBudgetMicros: usdToMicros(e.DAILY_BUDGET_USD),
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS ?? (onHeroku ? HEROKU_UPSTREAM_TIMEOUT_MS : UPSTREAM_TIMEOUT_MS),
    streamStartTimeoutMs: e.STREAM_START_TIMEOUT_MS,
    streamHeartbeatMs: e.STREAM_HEARTBEAT_MS,
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
    guestPoolDailyBudgetMicros: positiveOrNull(e.GUEST_POOL_DAILY_BUDGET_USD),
    globalDailyBudgetMicros: positiveOrNull(e.GLOBAL_DAILY_BUDGET_USD),
    spendHistoryDays: e.SPEND_HISTORY_DAYS,
    streamCostMargin: e.STREAM_COST_MARGIN,
    prices,
    priceHalfLifeMs: e.PRICE_HALF_LIFE_HOURS * 3_600_000,
    passwordSignIn: e.PASSWORD_SIGN_IN,
    adminUsername: e.ADMIN_USERNAME,
    onHeroku,
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

function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}
