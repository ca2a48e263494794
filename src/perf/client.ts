import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { HttpError } from '../http/errors';
import type { Logger } from '../infra/logger';
import { ClientGone, UpstreamError, UpstreamTimeout, timeoutError } from './errors';

/** The only fields that ever reach Perf; built field by field, never copied from the browser. */
export interface PerfChatBody {
  messages: { role: 'system' | 'user' | 'assistant'; content: string | { type: 'text'; text: string }[]; name?: string }[];
  max_cost_per_call: number;
  model?: string;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
}

export interface PerfClientOptions {
  baseUrl: string;
  apiKey: string;
  logger: Logger;
  maxRetries?: number;
  backoffBaseMs?: number;
  /** Longest upstream Retry-After we wait out ourselves; longer ones go back to the browser. */
  maxRetryAfterMs?: number;
  dispatcher?: Dispatcher;
  random?: () => number;
  /** Called after each attempt; durationMs runs from sending to Perf's response headers (or the failure). */
  onAttempt?: (info: { attempt: number; status?: number; error?: string; durationMs?: number }) => void;
}

export interface OpenOptions {
  stream: boolean;
  /** Aborted with ClientGone or UpstreamTimeout as its reason. */
  signal: AbortSignal;
  /** Epoch ms after which no retry starts. */
  deadline: number;
}

export interface UpstreamAnswer {
  body: Dispatcher.ResponseData['body'];
  attempts: number;
}

/** Failures that prove the request never reached Perf: nothing can have been billed. */
const NEVER_REACHED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

export function createPerfDispatcher(connections: number | null = null): Agent {
  return new Agent({ connections, keepAliveTimeout: 10_000, connect: { timeout: 5_000 } });
}

/**
 * Calls Perf with the server's key. Retries 5xx, short 429s and connection failures with
 * exponential backoff and jitter inside the caller's deadline; never retries a 4xx, and never
 * once Perf has answered 200 (from then on bytes may be with the browser).
 */
export class PerfClient {
  private readonly dispatcher: Dispatcher;
  private readonly maxRetries: number;
  private readonly backoffBaseMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;

  constructor(private readonly options: PerfClientOptions) {
    this.dispatcher = options.dispatcher ?? createPerfDispatcher();
    this.maxRetries = options.maxRetries ?? 2;
    this.backoffBaseMs = options.backoffBaseMs ?? 200;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 2000;
    this.random = options.random ?? Math.random;
  }

  async open(body: PerfChatBody, opts: OpenOptions): Promise<UpstreamAnswer> {
    const url = `${this.options.baseUrl}${opts.stream ? '/v1/chat/stream' : '/v1/chat'}`;
    const payload = JSON.stringify(body);
    // Whether some attempt may have reached Perf without a definite failure status back.
    let mayHaveBilled = false;
    for (let attempt = 0; ; attempt += 1) {
      let retryWaitMs: number | undefined;
      let failure: UpstreamError;
      const attemptStart = performance.now();
      try {
        const res = await request(url, {
          method: 'POST',
          dispatcher: this.dispatcher,
          signal: opts.signal,
          headers: {
            authorization: `Bearer ${this.options.apiKey}`,
            'content-type': 'application/json',
            accept: opts.stream ? 'text/event-stream' : 'application/json',
            'user-agent': 'perf-bff',
          },
          body: payload,
          // Our own timers (the signal) bound the call; these only stop undici's defaults cutting in first.
          headersTimeout: 0,
          bodyTimeout: 0,
        });
        this.options.onAttempt?.({ attempt, status: res.statusCode, durationMs: performance.now() - attemptStart });
        if (res.statusCode === 200) return { body: res.body, attempts: attempt + 1 };
        const detail = await readErrorCode(res.body);
        failure = this.mapStatus(res.statusCode, res.headers, detail, mayHaveBilled);
        if (res.statusCode >= 500) retryWaitMs = this.backoff(attempt);
        if (res.statusCode === 429) {
          const retryAfterMs = (failure.httpError.retryAfterSeconds ?? 1) * 1000;
          if (retryAfterMs <= this.maxRetryAfterMs) retryWaitMs = Math.max(retryAfterMs, this.backoff(attempt));
        }
      } catch (err) {
        this.throwIfAborted(opts.signal, true);
        const code = (err as { code?: string }).code;
        if (code === undefined || !NEVER_REACHED_CODES.has(code)) mayHaveBilled = true;
        this.options.onAttempt?.({ attempt, error: code ?? 'error', durationMs: performance.now() - attemptStart });
        if (code === undefined || !RETRYABLE_CODES.has(code)) {
          this.options.logger.warn({ err: { message: (err as Error).message, code } }, 'perf request failed');
        }
        failure = new UpstreamError(new HttpError(502, 'upstream_unavailable', 'Perf could not be reached.'), mayHaveBilled);
        if (code !== undefined && RETRYABLE_CODES.has(code)) retryWaitMs = this.backoff(attempt);
      }
      const fits = retryWaitMs !== undefined && Date.now() + retryWaitMs < opts.deadline;
      if (attempt >= this.maxRetries || !fits) throw failure;
      try {
        await sleep(retryWaitMs, undefined, { signal: opts.signal });
      } catch {
        this.throwIfAborted(opts.signal, mayHaveBilled);
      }
    }
  }

  /** `inFlight`: a request was with Perf when the signal fired. */
  private throwIfAborted(signal: AbortSignal, inFlight: boolean): void {
    if (!signal.aborted) return;
    const reason: unknown = signal.reason;
    if (reason instanceof UpstreamTimeout) throw timeoutError(reason.phase, inFlight);
    throw new ClientGone(inFlight);
  }

  private backoff(attempt: number): number {
    // Full jitter around an exponential step: 200 ms, 400 ms, … each scaled by 0.5–1.5.
    return Math.round(this.backoffBaseMs * 2 ** attempt * (0.5 + this.random()));
  }

  /** A failure status bills nothing itself; `billed` carries what earlier attempts may have cost. */
  private mapStatus(status: number, headers: Dispatcher.ResponseData['headers'], code: string | undefined, billed: boolean): UpstreamError {
    if (status === 401 || status === 403) {
      this.options.logger.error(
        { upstream_status: status, upstream_code: code },
        'Perf rejected the API key: check PERF_API_KEY (revoked, mistyped, or a test key used where a live one is needed)',
      );
      return new UpstreamError(new HttpError(502, 'upstream_auth_failed', 'The service is misconfigured and cannot reach Perf.'), billed, status);
    }
    if (status === 429) {
      const retryAfter = parseRetryAfter(headers['retry-after']);
      return new UpstreamError(new HttpError(503, 'upstream_rate_limited', 'Perf is busy; try again shortly.', retryAfter), billed, status);
    }
    if (status === 400 || status === 422) {
      return new UpstreamError(new HttpError(400, 'invalid_request', 'Perf refused the request as invalid.'), billed, status);
    }
    if (status >= 500) {
      return new UpstreamError(new HttpError(502, 'upstream_error', 'Perf failed to answer.'), billed, status);
    }
    return new UpstreamError(new HttpError(502, 'upstream_error', 'Perf gave an unexpected answer.'), billed, status);
  }
}

function parseRetryAfter(value: string | string[] | undefined): number {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return 1;
  if (/^\d+$/.test(raw.trim())) return Math.max(1, Number(raw.trim()));
  const date = Date.parse(raw);
  return Number.isNaN(date) ? 1 : Math.max(1, Math.ceil((date - Date.now()) / 1000));
}

/** Reads at most a few KB of an error body for its code, then discards the rest. */
async function readErrorCode(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  try {
    let text = '';
    for await (const chunk of body) {
      text += (chunk as Buffer).toString('utf8');
      if (text.length > 4096) break;
    }
    body.destroy();
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}
