import { ConfigError, loadConfig } from '../src/config';

const SECRET = 'a'.repeat(32);
const PROD = { NODE_ENV: 'production', PERF_API_KEY: 'pk_test_abcdefgh12345678', SESSION_SECRET: SECRET, REDIS_URL: 'rediss://h:6380' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, () => 'generated');
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  test('with an empty environment, gives the embedded defaults', () => {
    const config = loadConfig({}, () => 'generated-secret');
    expect(config).toMatchObject({
      production: false,
      port: 3000,
      perfApiKey: undefined,
      perfBaseUrl: 'https://api.withperf.pro',
      redisUrl: undefined,
      sessionSecrets: ['generated-secret'],
      sessionSecretGenerated: true,
      rateLimitRequests: 20,
      rateLimitWindowSeconds: 60,
      maxCostPerCallMicros: 10_000,
      dailyBudgetMicros: 1_000_000,
      upstreamTimeoutMs: 60_000,
      streamIdleTimeoutMs: 30_000,
      shutdownTimeoutMs: 25_000,
      trustProxy: 0,
      allowedOrigins: [],
      logLevel: 'info',
      redisTlsRejectUnauthorized: true,
      metricsToken: undefined,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  test('in production, names every missing required setting at once', () => {
    expect(problems({ NODE_ENV: 'production' })).toEqual([
      'PERF_API_KEY is required when NODE_ENV=production',
      'SESSION_SECRET is required when NODE_ENV=production',
      'REDIS_URL is required when NODE_ENV=production',
    ]);
  });

  test('in production with the three set, trusts one proxy hop by default', () => {
    const config = loadConfig(PROD);
    expect(config.production).toBe(true);
    expect(config.trustProxy).toBe(1);
    expect(config.sessionSecretGenerated).toBe(false);
  });

  test('a malformed key is refused without printing it', () => {
    const found = problems({ ...PROD, PERF_API_KEY: 'sk-secret-value-123456' });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^PERF_API_KEY is not a Perf key/);
    expect(found.join(' ')).not.toContain('sk-secret-value-123456');
  });

  test('reports every malformed setting at once', () => {
    const found = problems({
      ...PROD,
      SESSION_SECRET: 'short',
      REDIS_URL: 'http://nope',
      PORT: 'eighty',
      RATE_LIMIT_REQUESTS: '0',
      MAX_COST_PER_CALL: '-1',
      DAILY_BUDGET_USD: 'lots',
      TRUST_PROXY: 'true',
      ALLOWED_ORIGINS: 'https://ok.example,not-an-origin',
      LOG_LEVEL: 'loud',
      UPSTREAM_TIMEOUT_MS: '5',
      PERF_BASE_URL: 'ftp://x',
    });
    const names = found.map((p) => p.split(' ')[0]);
    expect(names.sort()).toEqual(
      [
        'ALLOWED_ORIGINS',
        'DAILY_BUDGET_USD',
        'LOG_LEVEL',
        'MAX_COST_PER_CALL',
        'PERF_BASE_URL',
        'PORT',
        'RATE_LIMIT_REQUESTS',
        'REDIS_URL',
        'SESSION_SECRET',
        'TRUST_PROXY',
        'UPSTREAM_TIMEOUT_MS',
      ].sort(),
    );
  });

  test('SESSION_SECRET as a comma-separated list rotates secrets: the first signs', () => {
    const config = loadConfig({ ...PROD, SESSION_SECRET: `${'n'.repeat(40)}, ${'o'.repeat(32)}` });
    expect(config.sessionSecrets).toEqual(['n'.repeat(40), 'o'.repeat(32)]);
    expect(problems({ ...PROD, SESSION_SECRET: `${'n'.repeat(40)},short` })).toHaveLength(1);
  });

  test('money settings become integer micro-dollars; DAILY_BUDGET_USD=0 is allowed (budgets off)', () => {
    const config = loadConfig({ MAX_COST_PER_CALL: '0.0025', DAILY_BUDGET_USD: '0' });
    expect(config.maxCostPerCallMicros).toBe(2500);
    expect(config.dailyBudgetMicros).toBe(0);
    expect(problems({ MAX_COST_PER_CALL: '0.0000001' })).toHaveLength(1);
  });

  test('REDIS_TLS_REJECT_UNAUTHORIZED=false must be said explicitly; anything else is an error', () => {
    expect(loadConfig({ REDIS_TLS_REJECT_UNAUTHORIZED: 'false' }).redisTlsRejectUnauthorized).toBe(false);
    expect(problems({ REDIS_TLS_REJECT_UNAUTHORIZED: 'no' })).toHaveLength(1);
  });

  test('empty values count as unset, as in a copied .env.example', () => {
    const config = loadConfig({ PERF_API_KEY: '', REDIS_URL: '', SESSION_SECRET: '', TRUST_PROXY: '', METRICS_TOKEN: '' }, () => 'g');
    expect(config.perfApiKey).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.trustProxy).toBe(0);
  });
});

describe('loadConfig cross-checks', () => {
  test('in production, PERF_BASE_URL must be https unless it is on this machine', () => {
    expect(problems({ ...PROD, PERF_BASE_URL: 'http://perf.example.com' })).toEqual([
      'PERF_BASE_URL must be https:// in production (the key travels in its Authorization header)',
    ]);
    expect(problems({ ...PROD, PERF_BASE_URL: 'http://127.0.0.1:8080' })).toEqual([]);
    expect(problems({ PERF_BASE_URL: 'http://perf.example.com' })).toEqual([]);
  });

  test('a per-call cap larger than the whole budget is refused', () => {
    expect(problems({ MAX_COST_PER_CALL: '2', DAILY_BUDGET_USD: '1' })).toEqual([
      'MAX_COST_PER_CALL is larger than DAILY_BUDGET_USD: no call could ever fit in a budget',
    ]);
    expect(problems({ MAX_COST_PER_CALL: '2', DAILY_BUDGET_USD: '0' })).toEqual([]);
  });
});

describe('loadConfig: frontends', () => {
  test('ALLOWED_MODELS is * by default, or a list of model names', () => {
    expect(loadConfig({}).allowedModels).toBe('*');
    expect(loadConfig({ ALLOWED_MODELS: ' gpt-4o-mini , claude-sonnet ' }).allowedModels).toEqual(['gpt-4o-mini', 'claude-sonnet']);
    expect(problems({ ALLOWED_MODELS: 'gpt 4o' })).toEqual([
      'ALLOWED_MODELS must list model names such as gpt-4o-mini, comma-separated (or *)',
    ]);
  });

  test('PUBLIC_URL is an origin: a path is refused, a trailing slash is dropped', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://chat.example.com/' }).publicUrl).toBe('https://chat.example.com');
    expect(problems({ PUBLIC_URL: 'https://chat.example.com/app' })).toEqual([
      'PUBLIC_URL must be an origin without a path (https://chat.example.com)',
    ]);
  });

  test('SESSION_COOKIE_SAMESITE is strict by default; none only in production, where the cookie is Secure', () => {
    expect(loadConfig({}).sessionCookieSameSite).toBe('strict');
    expect(loadConfig({ SESSION_COOKIE_SAMESITE: 'Lax' }).sessionCookieSameSite).toBe('lax');
    expect(problems({ SESSION_COOKIE_SAMESITE: 'none' })).toHaveLength(1);
    expect(loadConfig({ ...PROD, SESSION_COOKIE_SAMESITE: 'none' }).sessionCookieSameSite).toBe('none');
    expect(problems({ SESSION_COOKIE_SAMESITE: 'loose' })).toEqual(['SESSION_COOKIE_SAMESITE must be strict, lax or none']);
  });
});

describe('loadConfig: sign-in', () => {
  const OIDC = { OIDC_ISSUER: 'https://idp.example.com/', OIDC_CLIENT_ID: 'bff', PUBLIC_URL: 'https://chat.example.com' };

  test('OIDC_ISSUER turns OIDC on, with its defaults', () => {
    expect(loadConfig(OIDC).oidc).toEqual({
      issuer: 'https://idp.example.com/',
      clientId: 'bff',
      clientSecret: undefined,
      scopes: 'openid email profile',
      allowedEmailDomains: [],
      providerName: 'idp.example.com',
    });
    expect(loadConfig({}).oidc).toBeUndefined();
    expect(loadConfig({}).passwordSignIn).toBe(true);
  });

  test('OIDC_ISSUER needs OIDC_CLIENT_ID and PUBLIC_URL; every missing one is named at once', () => {
    expect(problems({ OIDC_ISSUER: 'https://idp.example.com' })).toEqual([
      'OIDC_CLIENT_ID is required with OIDC_ISSUER',
      'PUBLIC_URL is required with OIDC_ISSUER (the redirect URI is PUBLIC_URL/auth/oidc/callback)',
    ]);
  });

  test('in production the issuer is https (a provider on this machine aside)', () => {
    expect(problems({ ...PROD, ...OIDC, OIDC_ISSUER: 'http://idp.example.com' })).toEqual(['OIDC_ISSUER must be https:// in production']);
    expect(problems({ ...PROD, ...OIDC, OIDC_ISSUER: 'http://127.0.0.1:9000' })).toEqual([]);
  });

  test('PASSWORD_SIGN_IN=false needs a provider; the scopes must include openid; domains are lowercased', () => {
    expect(problems({ PASSWORD_SIGN_IN: 'false' })).toEqual(['PASSWORD_SIGN_IN=false needs OIDC_ISSUER: otherwise nobody could sign in']);
    expect(problems({ ...OIDC, OIDC_SCOPES: 'email profile' })).toEqual(['OIDC_SCOPES must include openid']);
    expect(loadConfig({ ...OIDC, OIDC_ALLOWED_EMAIL_DOMAINS: 'Example.COM, other.org' }).oidc?.allowedEmailDomains).toEqual([
      'example.com',
      'other.org',
    ]);
  });
});
