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

describe('loadConfig: Redis Cluster', () => {
  test('REDIS_CLUSTER=true takes one or more seed nodes, comma-separated; one Redis stays the default', () => {
    const single = loadConfig({ REDIS_URL: 'redis://h:6379' });
    expect(single).toMatchObject({ redisCluster: false, redisUrl: 'redis://h:6379', redisUrls: ['redis://h:6379'] });
    const cluster = loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'rediss://:pw@a:7000, rediss://:pw@b:7000' });
    expect(cluster).toMatchObject({
      redisCluster: true,
      redisUrl: 'rediss://:pw@a:7000',
      redisUrls: ['rediss://:pw@a:7000', 'rediss://:pw@b:7000'],
    });
  });

  test('several URLs need REDIS_CLUSTER=true, and REDIS_CLUSTER=true needs a URL', () => {
    expect(problems({ REDIS_URL: 'redis://a:7000,redis://b:7000' })).toEqual([
      'REDIS_URL names several Redis nodes: that is a cluster, so set REDIS_CLUSTER=true (or give one URL)',
    ]);
    expect(problems({ REDIS_CLUSTER: 'true' })).toEqual([
      "REDIS_CLUSTER=true needs REDIS_URL: one or more of the cluster's nodes, comma-separated",
    ]);
  });

  test("a cluster's seeds share one scheme, user and password, and name no database; the password is never repeated", () => {
    const mixed = problems({ REDIS_CLUSTER: 'true', REDIS_URL: 'rediss://:secret-one@a:7000,redis://:secret-two@b:7000' });
    expect(mixed).toEqual(['REDIS_URL: every node of a cluster must have the same scheme (redis:// or rediss://), user and password']);
    expect(mixed.join(' ')).not.toMatch(/secret/);
    expect(problems({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://a:7000/2' })).toEqual([
      'REDIS_URL names a database, but a Redis Cluster has only database 0: remove the /<n> from REDIS_URL',
    ]);
    expect(problems({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://a:7000,nope' })[0]).toMatch(
      /^REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/,
    );
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

describe('loadConfig: plans', () => {
  const files: Record<string, string> = {
    '/plans.json': JSON.stringify({
      free: { requests_per_window: 5, window_seconds: 60, daily_budget_usd: 0.1, max_cost_per_call: 0.005, models: ['m'] },
      pro: { requests_per_window: 50, window_seconds: 60, daily_budget_usd: 5, max_cost_per_call: 0.05, models: '*', max_tokens: 4096 },
    }),
    '/broken.json': '{"x": {}}',
  };
  const read = (p: string) => {
    const text = files[p];
    if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
    return text;
  };
  const load = (env: Record<string, string>) => loadConfig(env, () => 'g', read);
  const problemsOf = (env: Record<string, string>) => {
    try {
      load(env);
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      throw err;
    }
    return [];
  };

  test('without a plans file, the settings make one plan named "default": nothing changes', () => {
    const config = load({ RATE_LIMIT_REQUESTS: '7', DAILY_BUDGET_USD: '2', MAX_COST_PER_CALL: '0.02', ALLOWED_MODELS: 'a,b' });
    expect(config.defaultPlan).toBe('default');
    expect([...config.plans.values()]).toEqual([
      {
        name: 'default',
        requestsPerWindow: 7,
        windowSeconds: 60,
        dailyBudgetMicros: 2_000_000,
        maxCostPerCallMicros: 20_000,
        models: ['a', 'b'],
        maxTokens: undefined,
      },
    ]);
  });

  test('PLANS_FILE gives the plans; DEFAULT_PLAN and GUEST_PLAN must name one of them', () => {
    const config = load({ PLANS_FILE: '/plans.json', DEFAULT_PLAN: 'free', GUEST_PLAN: 'free' });
    expect([...config.plans.keys()]).toEqual(['free', 'pro']);
    expect(config.guestPlan).toBe('free');
    expect(problemsOf({ PLANS_FILE: '/plans.json', GUEST_PLAN: 'vip' })).toEqual([
      'DEFAULT_PLAN "default" is not a plan in PLANS_FILE (free, pro)',
      'GUEST_PLAN "vip" is not a plan (free, pro)',
    ]);
  });

  test("a plans file's problems and a missing file are named with the setting", () => {
    expect(problemsOf({ PLANS_FILE: '/nowhere.json' })).toEqual(['PLANS_FILE cannot be read (ENOENT): /nowhere.json']);
    expect(problemsOf({ PLANS_FILE: '/broken.json', DEFAULT_PLAN: 'x' })[0]).toMatch(/^PLANS_FILE plan "x" /);
  });

  test('GLOBAL_DAILY_BUDGET_USD and the guests pool are micro-dollars; 0 means none', () => {
    expect(load({ GLOBAL_DAILY_BUDGET_USD: '250' }).globalDailyBudgetMicros).toBe(250_000_000);
    expect(load({}).globalDailyBudgetMicros).toBeNull();
    expect(load({}).guestPoolDailyBudgetMicros).toBe(1_000_000);
    expect(load({}).spendHistoryDays).toBe(35);
  });
});

describe("loadConfig: the server's own timeouts", () => {
  test('have deliberate defaults, and stay within safe bounds', () => {
    expect(loadConfig({})).toMatchObject({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 65_000 });
    expect(problems({ KEEP_ALIVE_TIMEOUT_MS: '30000' })).toEqual([expect.stringMatching(/^KEEP_ALIVE_TIMEOUT_MS /) as string]);
    expect(problems({ REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '8000' })).toEqual([
      'HEADERS_TIMEOUT_MS is longer than REQUEST_TIMEOUT_MS: the headers are part of the request',
    ]);
  });
});

describe('loadConfig reports everything in one run', () => {
  test('cross-field problems come with the malformed settings, not after they are fixed', () => {
    const found = problems({
      ...PROD,
      PORT: 'eighty',
      PERF_BASE_URL: 'http://perf.example.com',
      MAX_COST_PER_CALL: '2',
      DAILY_BUDGET_USD: '1',
      HEADERS_TIMEOUT_MS: '20000',
      REQUEST_TIMEOUT_MS: '10000',
      OIDC_ISSUER: 'https://id.example.com',
      REDIS_URL: '',
    });
    expect(found).toEqual([
      'PORT must be a whole number',
      'REDIS_URL is required when NODE_ENV=production',
      'PERF_BASE_URL must be https:// in production (the key travels in its Authorization header)',
      'OIDC_CLIENT_ID is required with OIDC_ISSUER',
      'PUBLIC_URL is required with OIDC_ISSUER (the redirect URI is PUBLIC_URL/auth/oidc/callback)',
      'HEADERS_TIMEOUT_MS is longer than REQUEST_TIMEOUT_MS: the headers are part of the request',
      'MAX_COST_PER_CALL is larger than DAILY_BUDGET_USD: no call could ever fit in a budget',
    ]);
  });

  test('a rule that reads a malformed setting is skipped, not reported twice or wrongly', () => {
    expect(problems({ MAX_COST_PER_CALL: 'two', DAILY_BUDGET_USD: '1' })).toEqual([
      'MAX_COST_PER_CALL must be a dollar amount such as 0.01 (at most 6 decimals)',
    ]);
    expect(problems({ ...PROD, PERF_BASE_URL: 'ftp://x' })).toEqual(['PERF_BASE_URL must be an http(s) URL']);
  });

  test('a plans file problem and a setting problem are reported together', () => {
    const found = problems({ PORT: '-1', PLANS_FILE: '/nowhere/plans.json' });
    expect(found).toHaveLength(2);
    expect(found[0]).toBe('PORT must be a whole number');
    expect(found[1]).toMatch(/^PLANS_FILE cannot be read \(ENOENT\)/);
  });
});

describe('router-safe timeouts', () => {
  test('JSON calls get 25 s on Heroku (DYNO set), 60 s elsewhere; streams wait 60 s for a first byte, with heartbeats', () => {
    expect(loadConfig({}).upstreamTimeoutMs).toBe(60_000);
    const heroku = loadConfig({ ...PROD, DYNO: 'web.1' });
    expect(heroku).toMatchObject({ onHeroku: true, upstreamTimeoutMs: 25_000, streamStartTimeoutMs: 60_000, streamHeartbeatMs: 15_000 });
    expect(loadConfig({ ...PROD, DYNO: 'web.1', UPSTREAM_TIMEOUT_MS: '28000' }).upstreamTimeoutMs).toBe(28_000);
  });

  test('a heartbeat slower than the router allows is refused', () => {
    expect(problems({ STREAM_HEARTBEAT_MS: '30000' })).toEqual(['STREAM_HEARTBEAT_MS must be at most 25000']);
  });
});

describe('ADMIN_USERNAME', () => {
  test('is a username, lowercased, and needs password sign-in', () => {
    expect(loadConfig({ ADMIN_USERNAME: 'Admin' }).adminUsername).toBe('admin');
    expect(problems({ ADMIN_USERNAME: 'not a name' })).toHaveLength(1);
    expect(
      problems({
        ADMIN_USERNAME: 'admin',
        PASSWORD_SIGN_IN: 'false',
        OIDC_ISSUER: 'https://id.example.com',
        OIDC_CLIENT_ID: 'c',
        PUBLIC_URL: 'https://a.example.com',
      }),
    ).toEqual(['ADMIN_USERNAME makes a password user, but PASSWORD_SIGN_IN=false: that user could not sign in']);
  });
});

describe('stream cost settings', () => {
  test('STREAM_COST_MARGIN (1.25 by default, 1 to 10), PRICE_HALF_LIFE_HOURS (24), PRICES_FILE read and checked', () => {
    expect(loadConfig({})).toMatchObject({ streamCostMargin: 1.25, priceHalfLifeMs: 24 * 3_600_000 });
    expect(problems({ STREAM_COST_MARGIN: '0.9' })).toEqual(['STREAM_COST_MARGIN must be at least 1']);
    const files: Record<string, string> = {
      '/prices.json': '{"gpt-4o-mini": {"input_usd_per_million": 0.15, "output_usd_per_million": 0.6}}',
      '/bad.json': '{"m": {"input_usd_per_million": "cheap", "output_usd_per_million": 1}}',
    };
    const read = (path: string): string => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return text;
    };
    expect(loadConfig({ PRICES_FILE: '/prices.json' }, () => 'g', read).prices.get('gpt-4o-mini')?.outputUsdPerToken).toBeCloseTo(
      0.6e-6,
      15,
    );
    let found: string[] = [];
    try {
      loadConfig({ PRICES_FILE: '/bad.json', STREAM_COST_MARGIN: 'lots' }, () => 'g', read);
    } catch (err) {
      found = [...(err as ConfigError).problems];
    }
    expect(found).toEqual([
      'STREAM_COST_MARGIN must be a number such as 1.25',
      'PRICES_FILE "m": input_usd_per_million Invalid input: expected number, received string',
    ]);
  });
});
