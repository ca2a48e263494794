import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import type { Logger } from '../infra/logger';
import { abortFailure, PerfCallError } from './failure';
import { KeyEcho } from './key-echo';
import type { PerfFailure } from './failure';

/** The only fields that ever reach Perf; built field by field, never copied from the browser. */
export interface PerfChatBody {
  messages: { role: 'system' | 'user' | 'assistant'; content: string | { type: 'text'; text: string }[]; name?: string }[];
  max_cost_per_call: number;
  model?: string;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  /** Added by the client for streams, until Perf refuses it: asks for a final chunk with usage (and cost). */
  stream_options?: { include_usage: true };
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
  /** Called when Perf sent our key back (it is replaced before it goes anywhere). */
  onKeyEcho?: (where: string) => void;
  /** Called after each attempt; durationMs runs from sending to Perf's response headers (or the failure). */
  onAttempt?: (info: { attempt: number; status?: number; error?: string; durationMs?: number }) => void;
}

export interface OpenOptions {
  stream: boolean;
  /** Aborted with ClientGone or UpstreamTimeout (failure.ts) as its reason. */
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
 * once Perf has answered 200 (from then on bytes may be with the browser). A failure is thrown as
 * a PerfCallError that says whether any attempt may have been billed.
 *
 * The retry loop is our own rather than undici's RetryAgent: whether an attempt may have been
 * billed, and whether the next one still fits in the caller's deadline, are ours to track.
 */
export class PerfClient {
  /** Whatever came from Perf goes through this before it is relayed or logged. */
  readonly echo: KeyEcho;
  private readonly dispatcher: Dispatcher;
  private readonly maxRetries: number;
  private readonly backoffBaseMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;
  /** Perf answered 400 to `stream_options` once: it is not sent again (per process). */
  private streamUsageRefused = false;

  constructor(private readonly options: PerfClientOptions) {
    this.echo = new KeyEcho(options.apiKey, options.onKeyEcho);
    this.dispatcher = options.dispatcher ?? createPerfDispatcher();
    this.maxRetries = options.maxRetries ?? 2;
    this.backoffBaseMs = options.backoffBaseMs ?? 200;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 2000;
    this.random = options.random ?? Math.random;
  }

  async open(body: PerfChatBody, opts: OpenOptions): Promise<UpstreamAnswer> {
    const url = `${this.options.baseUrl}${opts.stream ? '/v1/chat/stream' : '/v1/chat'}`;
    let askedForUsage = opts.stream && !this.streamUsageRefused;
    let payload = JSON.stringify(askedForUsage ? { ...body, stream_options: { include_usage: true } } : body);
    let retriedWithoutUsage = false;
    let perfMayHaveBilled = false;
    // A function, not a property read: the signal changes under the awaits below.
    const aborted = (): boolean => opts.signal.aborted;
    for (let attempt = 0; ; attempt += 1) {
      if (aborted()) throw new PerfCallError(abortFailure(opts.signal), perfMayHaveBilled, attempt);
      let retryWaitMs: number | undefined;
      let failure: PerfFailure;
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
        if (retriedWithoutUsage && res.statusCode !== 400) this.noteStreamUsageRefused();
        if (res.statusCode === 200) return { body: res.body, attempts: attempt + 1 };
        // A failure status is definite: that attempt billed nothing.
        const code = await readErrorCode(res.body);
        if (res.statusCode === 400 && askedForUsage) {
          // Perhaps a Perf that does not take stream_options: asked again without it, at once (a
          // 400 billed nothing). If that is taken, it is not sent again.
          askedForUsage = false;
          retriedWithoutUsage = true;
          payload = JSON.stringify(body);
          attempt -= 1;
          continue;
        }
        failure = {
          kind: 'status',
          status: res.statusCode,
          ...withCode(code === undefined ? undefined : this.echo.text(code, 'error code')),
        };
        if (res.statusCode === 401 || res.statusCode === 403) {
          this.options.logger.error(
            { upstream_status: res.statusCode, upstream_code: failure.code },
            'Perf rejected the API key: check PERF_API_KEY (revoked, mistyped, or a test key used where a live one is needed)',
          );
        }
        if (res.statusCode >= 500) retryWaitMs = this.backoff(attempt);
        if (res.statusCode === 429) {
          const retryAfterSeconds = parseRetryAfter(res.headers['retry-after']);
          failure.retryAfterSeconds = retryAfterSeconds;
          if (retryAfterSeconds * 1000 <= this.maxRetryAfterMs) retryWaitMs = Math.max(retryAfterSeconds * 1000, this.backoff(attempt));
        }
      } catch (err) {
        // Aborted while a request was with Perf: it may finish (and bill) without us.
        if (aborted()) throw new PerfCallError(abortFailure(opts.signal), true, attempt + 1);
        const code = (err as { code?: string }).code;
        if (code === undefined || !NEVER_REACHED_CODES.has(code)) perfMayHaveBilled = true;
        this.options.onAttempt?.({ attempt, error: code ?? 'error', durationMs: performance.now() - attemptStart });
        if (code === undefined || !RETRYABLE_CODES.has(code)) {
          this.options.logger.warn({ err: { message: (err as Error).message, code } }, 'perf request failed');
        }
        failure = { kind: 'unreachable', ...withCode(code) };
        if (code !== undefined && RETRYABLE_CODES.has(code)) retryWaitMs = this.backoff(attempt);
      }
      const fits = retryWaitMs !== undefined && Date.now() + retryWaitMs < opts.deadline;
      if (attempt >= this.maxRetries || !fits) throw new PerfCallError(failure, perfMayHaveBilled, attempt + 1);
      try {
        await sleep(retryWaitMs, undefined, { signal: opts.signal });
      } catch {
        // Aborted between attempts: only the earlier attempts can have been billed.
        throw new PerfCallError(abortFailure(opts.signal), perfMayHaveBilled, attempt + 1);
      }
    }
  }

  private noteStreamUsageRefused(): void {
    if (this.streamUsageRefused) return;
    this.streamUsageRefused = true;
    this.options.logger.info('Perf does not take stream_options: a stream that reports no cost is charged an estimate');
  }

  private backoff(attempt: number): number {
    // Full jitter around an exponential step: 200 ms, 400 ms, … each scaled by 0.5–1.5.
    return Math.round(this.backoffBaseMs * 2 ** attempt * (0.5 + this.random()));
  }
}

/** Perf's own limits are per minute: a longer wait it asks for is cut to this. */
const MAX_UPSTREAM_RETRY_AFTER_SECONDS = 3600;

/**
 * Perf's Retry-After as whole seconds between 1 and an hour, whatever it says: delay-seconds,
 * an HTTP date, or nonsense ("1e+23", "-5", "soon") — the last means 1.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
  let seconds = 1;
  if (/^[+-]?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(raw)) seconds = Number(raw);
  else if (/[a-z]/i.test(raw) && !Number.isNaN(Date.parse(raw))) seconds = (Date.parse(raw) - now) / 1000;
  if (!Number.isFinite(seconds)) seconds = seconds > 0 ? MAX_UPSTREAM_RETRY_AFTER_SECONDS : 1;
  return Math.min(MAX_UPSTREAM_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(seconds)));
}

function withCode(code: string | undefined): { code?: string } {
  return code === undefined ? {} : { code };
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
