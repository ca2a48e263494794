import { LOOPBACK_URL } from './fields';
import type { Env, SettingName, Settings } from './settings';

/** A rule between settings: the problem it finds, if any. */
type CrossCheck = (s: Settings, production: boolean) => string | undefined;

const httpsOnly = (url: string): boolean => url.startsWith('https://') || LOOPBACK_URL.test(url);

const REQUIRED_IN_PRODUCTION = ['PERF_API_KEY', 'SESSION_SECRET', 'REDIS_URL'] as const;

const CHECKS: readonly CrossCheck[] = [
  ...REQUIRED_IN_PRODUCTION.map((name): CrossCheck => (s, production) => {
    const value = s[name];
    const missing = value === undefined || (Array.isArray(value) && value.length === 0);
    return production && missing ? `${name} is required when NODE_ENV=production` : undefined;
  }),
  (s, production) =>
    production && !httpsOnly(s.PERF_BASE_URL)
      ? 'PERF_BASE_URL must be https:// in production (the key travels in its Authorization header)'
      : undefined,
  (s, production) =>
    s.SESSION_COOKIE_SAMESITE === 'none' && !production
      ? 'SESSION_COOKIE_SAMESITE=none needs NODE_ENV=production: browsers accept SameSite=None only on a Secure (https) cookie'
      : undefined,
  (s) => (s.OIDC_ISSUER !== undefined && s.OIDC_CLIENT_ID === undefined ? 'OIDC_CLIENT_ID is required with OIDC_ISSUER' : undefined),
  (s) =>
    s.OIDC_ISSUER !== undefined && s.PUBLIC_URL === undefined
      ? 'PUBLIC_URL is required with OIDC_ISSUER (the redirect URI is PUBLIC_URL/auth/oidc/callback)'
      : undefined,
  (s, production) =>
    production && s.OIDC_ISSUER !== undefined && !httpsOnly(s.OIDC_ISSUER) ? 'OIDC_ISSUER must be https:// in production' : undefined,
  (s) => (s.OIDC_PLAN_CLAIM !== undefined && s.OIDC_ISSUER === undefined ? 'OIDC_PLAN_CLAIM needs OIDC_ISSUER' : undefined),
  (s) =>
    !s.PASSWORD_SIGN_IN && s.OIDC_ISSUER === undefined
      ? 'PASSWORD_SIGN_IN=false needs OIDC_ISSUER: otherwise nobody could sign in'
      : undefined,
  (s) =>
    !s.PASSWORD_SIGN_IN && s.ADMIN_USERNAME !== undefined
      ? 'ADMIN_USERNAME makes a password user, but PASSWORD_SIGN_IN=false: that user could not sign in'
      : undefined,
  (s) =>
    s.REDIS_URL.length > 1 && !s.REDIS_CLUSTER
      ? 'REDIS_URL names several Redis nodes: that is a cluster, so set REDIS_CLUSTER=true (or give one URL)'
      : undefined,
  (s) =>
    s.REDIS_CLUSTER && s.REDIS_URL.length === 0
      ? "REDIS_CLUSTER=true needs REDIS_URL: one or more of the cluster's nodes, comma-separated"
      : undefined,
  (s) => (s.REDIS_CLUSTER ? clusterUrlProblem(s.REDIS_URL) : undefined),
  (s) =>
    s.HEADERS_TIMEOUT_MS > s.REQUEST_TIMEOUT_MS
      ? 'HEADERS_TIMEOUT_MS is longer than REQUEST_TIMEOUT_MS: the headers are part of the request'
      : undefined,
  (s) =>
    s.PLANS_FILE === undefined && s.DAILY_BUDGET_USD > 0 && s.MAX_COST_PER_CALL > s.DAILY_BUDGET_USD
      ? 'MAX_COST_PER_CALL is larger than DAILY_BUDGET_USD: no call could ever fit in a budget'
      : undefined,
];

/**
 * A cluster's nodes are reached with the first URL's scheme, user and password (node-redis takes
 * them from its `defaults`, not from each seed), and a cluster has only database 0: seeds that
 * disagree, or name another database, would work by accident or not at all.
 */
function clusterUrlProblem(urls: readonly string[]): string | undefined {
  const parsed = urls.map((u) => new URL(u));
  const first = parsed[0];
  if (first === undefined) return undefined;
  const same = (u: URL) => u.protocol === first.protocol && u.username === first.username && u.password === first.password;
  if (!parsed.every(same)) {
    return 'REDIS_URL: every node of a cluster must have the same scheme (redis:// or rediss://), user and password';
  }
  if (parsed.some((u) => u.pathname !== '' && u.pathname !== '/' && u.pathname !== '/0')) {
    return 'REDIS_URL names a database, but a Redis Cluster has only database 0: remove the /<n> from REDIS_URL';
  }
  return undefined;
}

/** Thrown by the settings view when a rule reads a setting that did not parse: the rule is skipped. */
class UnreadableSetting extends Error {}

/**
 * A read-only view of the settings for a rule: reading one that did not parse skips the rule
 * (its own problem is already reported), so no rule has to list what it reads.
 */
export function viewOf(values: Partial<Settings>, invalid: ReadonlySet<SettingName>): Settings {
  return new Proxy(values, {
    get(target, name) {
      if (invalid.has(name as SettingName)) throw new UnreadableSetting();
      return target[name as SettingName];
    },
  }) as Settings;
}

/** Runs `rule` on the view; a rule that reads an unparsed setting says nothing. */
export function unlessUnreadable<T>(rule: () => T): T | undefined {
  try {
    return rule();
  } catch (err) {
    if (err instanceof UnreadableSetting) return undefined;
    throw err;
  }
}

/** Every problem between settings, each checked as long as the settings it reads parsed. */
export function crossCheck(view: Settings, env: Env): string[] {
  const production = env.NODE_ENV === 'production';
  return CHECKS.map((check) => unlessUnreadable(() => check(view, production))).filter((p): p is string => p !== undefined);
}
