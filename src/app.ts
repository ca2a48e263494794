import path from 'node:path';
import express, { json } from 'express';
import type { Express } from 'express';
import { authRoutes } from './auth/routes';
import { requireUser } from './auth/require-user';
import { sessionMiddleware, sessionTimeouts } from './auth/sessions';
import { openAiFace } from './chat/openai/face';
import { modelsHandler } from './chat/openai/models-route';
import { parseOpenAiRequest } from './chat/openai/schema';
import { chatHandler } from './chat/route';
import { parseChatRequest } from './chat/schema';
import { usageHandler } from './chat/usage-route';
import type { Config } from './config';
import { bodyTypeGuard, corsForAllowedOrigins, crossSiteGuard, JSON_BODY_TYPES } from './http/cross-site';
import { errorHandler, notFound } from './http/errors';
import { healthRoutes } from './http/health';
import { pseudonymFor, requestLog } from './http/request-log';
import { securityHeaders } from './http/security-headers';
import type { Logger } from './infra/logger';
import { countRequests, metricsHandler } from './infra/metrics';
import type { Metrics } from './infra/metrics';
import { countRefusedRequest } from './limits/rate-limit-middleware';
import type { PerfClient } from './perf/client';
import type { Stores } from './stores';

export interface AppDeps {
  config: Config;
  logger: Logger;
  stores: Stores;
  perf: PerfClient;
  /** True when the backing services answer; /readyz reports it. */
  ready: () => Promise<boolean>;
  shuttingDown?: () => boolean;
  now?: () => number;
  publicDir?: string;
  /** Prometheus metrics; GET /metrics serves them when config.metricsToken is set. */
  metrics?: Metrics;
}

/** Builds the app from its dependencies; does no I/O of its own. */
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

  app.use(requestLog(logger, pseudonymFor(config.sessionSecrets[0] ?? '')));
  if (metrics !== undefined) app.use(countRequests(metrics));
  app.use(securityHeaders(config.production));
  app.use(healthRoutes({ ready: deps.ready, shuttingDown: deps.shuttingDown ?? (() => false) }));
  if (metrics !== undefined) app.get('/metrics', metricsHandler(metrics, config.metricsToken));
  app.use(express.static(deps.publicDir ?? path.join(__dirname, '..', 'public'), { index: 'index.html', maxAge: config.production ? '1h' : 0 }));

  const sessions = [sessionMiddleware(config, stores.sessions), sessionTimeouts(config, now)];
  const crossSite = { allowedOrigins: config.allowedOrigins, publicOrigin: config.publicUrl };
  const guard = crossSiteGuard(crossSite);
  const bodyType = bodyTypeGuard(crossSite);
  const noStore: express.RequestHandler = (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  };

  app.use(['/api', '/auth'], corsForAllowedOrigins(crossSite));
  app.use('/api/v1', openAiFace);
  app.use('/auth', noStore, guard, bodyType, ...sessions, authRoutes({ config, users: stores.users, loginThrottle: stores.loginThrottle, loginIpThrottle: stores.loginIpThrottle, logger, now, onFailedLogin: () => metrics?.failedSignIns.inc() }));

  const chatDeps = { config, perf, ledger: stores.ledger, limiter: stores.rateLimit, logger, metrics };
  const countRefused = countRefusedRequest(stores.rateLimit, () => metrics?.rateLimitRejections.inc());
  const chatBody = json({ limit: '1mb', strict: true, type: JSON_BODY_TYPES });
  const api = express.Router();
  api.post('/chat', requireUser, bodyType, chatBody, chatHandler(chatDeps, parseChatRequest), countRefused);
  api.post('/v1/chat/completions', requireUser, bodyType, chatBody, chatHandler(chatDeps, parseOpenAiRequest), countRefused);
  api.get('/v1/models', requireUser, modelsHandler({ allowedModels: config.allowedModels }));
  api.get('/usage', requireUser, usageHandler({ limiter: stores.rateLimit, ledger: stores.ledger }));
  app.use('/api', noStore, guard, ...sessions, api);

  app.use(['/api', '/auth'], notFound);
  app.use(errorHandler());
  return app;
}
