import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The app's Prometheus metrics, on a registry of their own: one per app instance, so that two
 * apps in one process (tests) never share or double-register a metric.
 */
/** At most this many series of one metric are kept as ready children; past it they are looked up each time. */
const MAX_CACHED_SERIES = 500;

/**
 * A labelled metric's child for given label values (in the metric's labelNames order), looked up
 * once: prom-client validates and hashes a label object on every inc() and observe() otherwise.
 */
export function seriesOf<C>(labels: (...values: string[]) => C): (...values: string[]) => C {
  const known = new Map<string, C>();
  return (...values) => {
    const key = values.join('\u0000');
    let child = known.get(key);
    if (child === undefined) {
      child = labels(...values);
      if (known.size < MAX_CACHED_SERIES) known.set(key, child);
    }
    return child;
  };
}

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly upstreamLatency: Histogram<'outcome'>;
  readonly rateLimitRejections: Counter;
  readonly budgetRejections: Counter;
  readonly failedSignIns: Counter;
  readonly spendUsd: Counter<'plan' | 'source'>;
  readonly calls: Counter<'plan' | 'settled'>;
  readonly serviceBudgetRejections: Counter;
  readonly globalBudgetUsedRatio: Gauge;
  readonly openStreams: Gauge;
  readonly redisErrors: Counter;
  readonly keyEchoes: Counter;
  readonly costEstimateRatio: Histogram;
  /** The labelled metrics counted on every request or call, by their label values (seriesOf). */
  readonly httpRequestsOf: (method: string, route: string, status: string) => Counter.Internal;
  readonly httpDurationOf: (method: string, route: string, status: string) => Histogram.Internal<'method' | 'route' | 'status'>;
  readonly upstreamLatencyOf: (outcome: string) => Histogram.Internal<'outcome'>;
  readonly spendUsdOf: (plan: string, source: string) => Counter.Internal;
  readonly callsOf: (plan: string, settled: string) => Counter.Internal;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({
      name: 'perf_bff_http_requests_total',
      help: 'Answered HTTP requests, by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'perf_bff_http_request_duration_seconds',
      help: 'Time from a request arriving to its answer being finished (or abandoned), by method, route and status; a stream counts until its end.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.costEstimateRatio = new Histogram({
      name: 'perf_bff_cost_estimate_ratio',
      help: "For each answer that reported its cost and tokens: what our estimate at the model's prices known before it would have been, divided by the reported cost (1 is exact; the drift of stream estimates).",
      buckets: [0.5, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.25, 1.5, 2],
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
      help: 'USD charged to budgets, per plan: source="reported" is the cost Perf reported, "estimated" our estimate of a stream that reported none (× STREAM_COST_MARGIN), "cap_kept" a whole cap kept because the cost was unknown.',
      labelNames: ['plan', 'source'],
      registers,
    });
    this.calls = new Counter({
      name: 'perf_bff_calls_total',
      help: 'Chat calls admitted and settled, per plan and how their reservation was closed (charge, keep, release).',
      labelNames: ['plan', 'settled'],
      registers,
    });
    this.serviceBudgetRejections = new Counter({
      name: 'perf_bff_service_budget_rejections_total',
      help: 'Chat requests refused with 503 service_budget_exhausted (the global ceiling or the guests pool).',
      registers,
    });
    this.globalBudgetUsedRatio = new Gauge({
      name: 'perf_bff_global_budget_used_ratio',
      help: 'The share of GLOBAL_DAILY_BUDGET_USD used in the rolling 24 h, as last seen by this instance (1: calls are refused).',
      registers,
    });
    this.openStreams = new Gauge({
      name: 'perf_bff_open_streams',
      help: 'Streaming chat calls in progress.',
      registers,
    });
    this.keyEchoes = new Counter({
      name: 'perf_bff_key_echoes_total',
      help: 'Times Perf sent our API key back (in an answer, a stream, an error code); it was replaced each time.',
      registers,
    });
    this.redisErrors = new Counter({
      name: 'perf_bff_redis_errors_total',
      help: 'Errors reported by the Redis client (connection lost, refused, TLS failures, ...).',
      registers,
    });
    this.httpRequestsOf = seriesOf((...v) => this.httpRequests.labels(...v));
    this.httpDurationOf = seriesOf((...v) => this.httpDuration.labels(...v));
    this.upstreamLatencyOf = seriesOf((...v) => this.upstreamLatency.labels(...v));
    this.spendUsdOf = seriesOf((...v) => this.spendUsd.labels(...v));
    this.callsOf = seriesOf((...v) => this.calls.labels(...v));
  }
}
