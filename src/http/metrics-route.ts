import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Metrics } from '../infra/metrics';
import { HttpError } from './errors';

/** Known routes by path; anything else is "static" (GET page assets) or "other", to keep labels few. */
const ROUTES = new Set([
  '/api/chat',
  '/api/usage',
  '/api/v1/chat/completions',
  '/api/v1/models',
  '/auth/login',
  '/auth/logout',
  '/auth/password',
  '/auth/me',
  '/auth/guest',
  '/auth/methods',
  '/auth/oidc/login',
  '/auth/oidc/callback',
  '/healthz',
  '/readyz',
  '/metrics',
]);

export function routeLabel(method: string, path: string, status: number): string {
  if (ROUTES.has(path)) return path;
  return (method === 'GET' || method === 'HEAD') && status < 400 ? 'static' : 'other';
}

/** Counts every answered request once, and how long it took, when its response is finished or abandoned. */
export function countRequests(options: { metrics: Metrics }): RequestHandler {
  const { metrics } = options;
  return function countRequests(req, res, next) {
    const started = performance.now();
    let counted = false;
    const count = (): void => {
      if (counted) return;
      counted = true;
      // originalUrl: the path before any router stripped its mount point.
      const path = req.originalUrl.split('?')[0] ?? '';
      const labels = [req.method, routeLabel(req.method, path, res.statusCode), String(res.statusCode)] as const;
      metrics.httpRequestsOf(...labels).inc();
      metrics.httpDurationOf(...labels).observe((performance.now() - started) / 1000);
    };
    res.once('finish', count);
    res.once('close', count);
    next();
  };
}

/**
 * GET /metrics: Prometheus text format behind a bearer token compared in constant time.
 * Without a token the route does not exist (404), so metrics are never public by accident.
 */
export function metricsRoute(options: { metrics: Metrics; token: string | undefined }): RequestHandler {
  const { metrics, token } = options;
  if (token !== undefined && token.length < 16) throw new TypeError('metrics token: at least 16 characters');
  const expected = token === undefined ? undefined : digest(token);
  return async function metricsRoute(req, res) {
    if (expected === undefined) throw new HttpError(404, 'not_found', 'No such route.');
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    // Hashing first gives equal lengths, so timingSafeEqual never throws nor leaks the length.
    if (!timingSafeEqual(digest(given), expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      throw new HttpError(401, 'unauthorized', 'A valid metrics token is required.');
    }
    res
      .set('Cache-Control', 'no-store')
      .type(metrics.registry.contentType)
      .send(await metrics.registry.metrics());
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
