import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HttpError } from '../http/errors';

/**
 * The app's Prometheus metrics, on a registry of their own: one per app instance, so that two
 * apps in one process (tests) never share or double-register a metric.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly upstreamLatency: Histogram<'outcome'>;
  readonly rateLimitRejections: Counter;
  readonly budgetRejections: Counter;
  readonly failedSignIns: Counter;
  readonly spendUsd: Counter<'source'>;
  readonly openStreams: Gauge;
  readonly redisErrors: Counter;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({
      name: 'perf_bff_http_requests_total',
      help: 'Answered HTTP requests, by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.upstreamLatency = new Histogram({
      name: 'perf_bff_upstream_latency_seconds',
      help: "Time from sending a request to Perf to its response headers, per attempt; outcome is Perf's status or the network error code.",
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60],
      registers,
    });
    this.rateLimitRejections = new Counter({
      name: 'perf_bff_rate_limit_rejections_total',
      help: 'Chat requests refused with 429 rate_limit_exceeded.',
      registers,
    });
    this.budgetRejections = new Counter({
      name: 'perf_bff_budget_rejections_total',
      help: 'Chat requests refused with 429 budget_exceeded.',
      registers,
    });
    this.failedSignIns = new Counter({
      name: 'perf_bff_failed_sign_ins_total',
      help: 'Sign-ins refused with 401 invalid_credentials.',
      registers,
    });
    this.spendUsd = new Counter({
      name: 'perf_bff_spend_usd_total',
      help: 'USD charged to budgets: source="reported" is the cost Perf reported, source="kept_reservation" a cap kept because the cost was unknown.',
      labelNames: ['source'],
      registers,
    });
    this.openStreams = new Gauge({
      name: 'perf_bff_open_streams',
      help: 'Streaming chat calls in progress.',
      registers,
    });
    this.redisErrors = new Counter({
      name: 'perf_bff_redis_errors_total',
      help: "Errors reported by the Redis client (connection lost, refused, TLS failures, ...).",
      registers,
    });
  }
}

/** Known routes by path; anything else is "static" (GET page assets) or "other", to keep labels few. */
const ROUTES = new Set(['/api/chat', '/api/usage', '/api/v1/chat/completions', '/api/v1/models', '/auth/login', '/auth/logout', '/auth/me', '/healthz', '/readyz', '/metrics']);

export function routeLabel(method: string, path: string, status: number): string {
  if (ROUTES.has(path)) return path;
  return (method === 'GET' || method === 'HEAD') && status < 400 ? 'static' : 'other';
}

/** Counts every answered request once, when its response is finished or abandoned. */
export function countRequests(metrics: Metrics): RequestHandler {
  return function countRequests(req, res, next) {
    // originalUrl: the path before any router stripped its mount point.
    const path = req.originalUrl.split('?')[0] ?? '';
    let counted = false;
    const count = (): void => {
      if (counted) return;
      counted = true;
      metrics.httpRequests.inc({ method: req.method, route: routeLabel(req.method, path, res.statusCode), status: String(res.statusCode) });
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
export function metricsHandler(metrics: Metrics, token: string | undefined): RequestHandler {
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
    res.set('Cache-Control', 'no-store').type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
