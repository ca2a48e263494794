import express, { json } from 'express';
import type { Express, RequestHandler } from 'express';
import type { OidcProvider } from './auth/oidc/provider';
import { oidcRoutes } from './auth/oidc/routes';
import { TransactionCookie } from './auth/oidc/transaction';
import { guestSignIn } from './auth/guest-sign-in';
import { passwordSignIn } from './auth/password-sign-in';
import type { PasswordHasher } from './auth/passwords';
import { Accounts } from './auth/accounts';
import type { PriceBook } from './chat/price-book';
import { requireUser } from './auth/require-user';
import { sessionRoutes } from './auth/session-routes';
import type { SignInMethods } from './auth/session-routes';
import { sessionMiddleware, sessionSettings, sessionTimeouts } from './auth/sessions';
import { openAiFace } from './chat/openai/face';
import { modelsRoute } from './chat/openai/models-route';
import { parseOpenAiRequest } from './chat/openai/schema';
import { chatRoute } from './chat/route';
import { parseChatRequest } from './chat/schema';
import { usageRoute } from './chat/usage-route';
import type { Config } from './config';
import { bodyTypeGuard, corsForAllowedOrigins, crossSiteGuard, JSON_BODY_TYPES } from './http/cross-site';
import { errorHandler, notFound } from './http/errors';
import { healthRoutes } from './http/health';
import { closeUnreadBodies } from './http/close-unread-bodies';
import { countRequests, metricsRoute } from './http/metrics-route';
import { proxyCheck } from './http/proxy-check';
import { countRefusedRequest } from './http/rate-limit-headers';
import { pseudonymFor, requestLog } from './http/request-log';
import { securityHeaders } from './http/security-headers';
import type { Logger } from './infra/logger';
import type { Metrics } from './infra/metrics';
import { GlobalBudgetWatch } from './chat/budget-watch';
import { callerOf } from './chat/caller-plan';
import { entitlementFor } from './limits/entitlement';
import type { PlanSettings } from './chat/caller-plan';
import type { PerfClient } from './perf/client';
import type { Stores } from './stores';

export interface AppDeps {
  config: Config;
  logger: Logger;
  stores: Stores;
  perf: PerfClient;
  /** Model prices: the estimate of a stream that reports no cost. */
  prices: PriceBook;
  passwords: PasswordHasher;
  metrics: Metrics;
  /** True when the backing services answer; /readyz reports it. */
  ready: () => Promise<boolean>;
  shuttingDown: () => boolean;
  publicDir: string;
  /** The identity provider, when OIDC_ISSUER is set. */
  oidc?: OidcProvider | undefined;
  now?: () => number;
}

/** How long a started OIDC sign-in may take (the provider's login and consent pages included). */
const OIDC_TRANSACTION_SECONDS = 600;

/** The plans, and the budgets above every user's, as the chat routes use them. */
export function planSettingsFrom(config: Config): PlanSettings {
  return {
    plans: config.plans,
    defaultPlan: config.defaultPlan,
    guestPlan: config.guestPlan,
    pools: { globalDailyBudgetMicros: config.globalDailyBudgetMicros, guestPoolDailyBudgetMicros: config.guestPoolDailyBudgetMicros },
  };
}

const noStore: RequestHandler = function noStore(_req, res, next) {
  res.set('Cache-Control', 'no-store');
  next();
};

/** /auth: the sign-in methods configured, and the session's own routes. */
function authRouter(
  deps: AppDeps,
  session: ReturnType<typeof sessionSettings>,
  pseudonym: (username: string) => string,
  now: () => number,
): express.Router {
  const { config, stores, metrics } = deps;
  const router = express.Router();
  const methods: SignInMethods = { password: config.passwordSignIn, guest: config.guestPlan !== undefined };
  if (config.guestPlan !== undefined) {
    router.use(
      guestSignIn({ session, sessionIndex: stores.sessionIndex, plan: config.guestPlan, ipThrottle: stores.loginIpThrottle, now }),
    );
  }
  if (config.passwordSignIn) {
    router.use(
      passwordSignIn({
        session,
        sessionIndex: stores.sessionIndex,
        users: stores.users,
        planStore: stores.plans,
        passwords: deps.passwords,
        loginThrottle: stores.loginThrottle,
        loginIpThrottle: stores.loginIpThrottle,
        accounts: new Accounts(
          { users: stores.users, sessions: stores.sessionIndex, plans: stores.plans },
          deps.passwords,
          new Set(config.plans.keys()),
        ),
        now,
        logger: deps.logger,
        pseudonym,
        onFailedLogin: () => metrics.failedSignIns.inc(),
      }),
    );
  }
  const oidc = deps.oidc;
  if (config.oidc !== undefined && config.publicUrl !== undefined && oidc !== undefined) {
    const transactions = new TransactionCookie({
      secrets: config.sessionSecrets,
      secureCookie: session.secureCookie,
      ttlSeconds: OIDC_TRANSACTION_SECONDS,
      now,
    });
    router.use(
      oidcRoutes({
        provider: oidc,
        transactions,
        allowedEmailDomains: config.oidc.allowedEmailDomains,
        publicUrl: config.publicUrl,
        session,
        sessionIndex: stores.sessionIndex,
        users: stores.users,
        planStore: stores.plans,
        planFromClaim: config.oidc.planClaim === undefined ? undefined : { plans: new Set(config.plans.keys()) },
        now,
        logger: deps.logger,
      }),
    );
    methods.oidc = {
      name: config.oidc.providerName,
      loginUrl: '/auth/oidc/login',
      endSessionUrl: (idToken) => oidc.endSessionUrl(idToken),
    };
  }
  router.use(sessionRoutes({ session, sessionIndex: stores.sessionIndex, methods, now }));
  return router;
}

/** Builds the app from its dependencies: the middleware order and the routes; no I/O of its own. */
export function createApp(deps: AppDeps): Express {
  const { config, logger, stores, perf, metrics } = deps;
  const now = deps.now ?? Date.now;
  const app = express();
  app.disable('x-powered-by');
  // API answers are no-store: an ETag would only cost a SHA-1 of every body. Static files keep
  // serve-static's own (stat-based) ETags.
  app.set('etag', false);
  // A hop count, never `true`: only the proxies we know of may set X-Forwarded-For/-Proto.
  app.set('trust proxy', config.trustProxy);

  // One pseudonym function (and its memory of names) for the request log and the sign-in log.
  const pseudonym = pseudonymFor(config.sessionSecrets[0] ?? '');
  app.use(requestLog({ logger, pseudonym }));
  app.use(closeUnreadBodies());
  app.use(proxyCheck({ trustProxy: config.trustProxy, production: config.production, logger }));
  app.use(countRequests({ metrics }));
  app.use(securityHeaders({ production: config.production }));
  app.use(healthRoutes({ ready: deps.ready, shuttingDown: deps.shuttingDown }));
  app.get('/metrics', metricsRoute({ metrics, token: config.metricsToken }));

  const session = sessionSettings(config);
  const sessions = [sessionMiddleware({ settings: session, store: stores.sessions }), sessionTimeouts({ settings: session, now })];
  const crossSite = { allowedOrigins: config.allowedOrigins, publicOrigin: config.publicUrl };
  const guard = crossSiteGuard(crossSite);
  const bodyType = bodyTypeGuard(crossSite);

  app.use(['/api', '/auth'], corsForAllowedOrigins(crossSite));
  app.use('/api/v1', openAiFace);
  app.use('/auth', noStore, guard, bodyType, ...sessions, authRouter(deps, session, pseudonym, now));

  const plans = planSettingsFrom(config);
  const chat = {
    perf,
    admission: stores.admission,
    planStore: stores.plans,
    spend: stores.spend,
    plans,
    globalWatch: new GlobalBudgetWatch(logger, (ratio) => metrics.globalBudgetUsedRatio.set(ratio)),
    logger,
    metrics,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    streamStartTimeoutMs: config.streamStartTimeoutMs,
    streamIdleTimeoutMs: config.streamIdleTimeoutMs,
    streamHeartbeatMs: config.streamHeartbeatMs,
    prices: deps.prices,
    streamCostMargin: config.streamCostMargin,
    now,
  };
  const countRefused = countRefusedRequest({
    store: stores.admission,
    windowsOf: (req) => {
      const { caller, plan } = callerOf(req, plans);
      return entitlementFor(caller, plan, plans.pools).windows;
    },
    onRejected: () => metrics.rateLimitRejections.inc(),
  });
  const chatBody = json({ limit: '1mb', strict: true, type: JSON_BODY_TYPES });
  const api = express.Router();
  api.post('/chat', requireUser, bodyType, chatBody, chatRoute({ ...chat, parse: parseChatRequest }), countRefused);
  api.post('/v1/chat/completions', requireUser, bodyType, chatBody, chatRoute({ ...chat, parse: parseOpenAiRequest }), countRefused);
  api.get('/v1/models', requireUser, modelsRoute({ planStore: stores.plans, plans }));
  api.get('/usage', requireUser, usageRoute({ admission: stores.admission, planStore: stores.plans, plans, spend: stores.spend, now }));
  app.use('/api', noStore, guard, ...sessions, api);
  // The page's files come after the API: an API request never looks for a file on disk first.
  app.use(express.static(deps.publicDir, { index: 'index.html', maxAge: config.production ? '1h' : 0 }));

  app.use(['/api', '/auth'], notFound);
  app.use(errorHandler());
  return app;
}
