import type { ServerResponse } from 'node:http';
import type { ErrorShape, HttpError } from '../http/errors';
import type { Logger } from '../infra/logger';
import type { TokenCounts } from '../limits/prices';
import type { CallOutcome, SpendSource } from '../limits/settle-policy';
import type { PerfChatBody, PerfClient } from '../perf/client';
import type { CallGuard } from './call-guard';
import type { PriceBook } from './price-book';

/** What the request log line says about the upstream call: metadata only, never text. */
export interface CallFacts {
  stream: boolean;
  plan?: string;
  upstream_status?: number;
  attempts?: number;
  model_used?: string;
  tokens?: number;
  cost_usd?: number;
  settled?: 'charge' | 'keep' | 'release';
  /** Where the charged amount came from (absent when released). */
  cost_source?: SpendSource;
  /** What the caller's budget was charged. */
  charged_usd?: number;
  outcome?: string;
  /** A stream's every event, [DONE] included, was written to the browser (it may close at once after). */
  delivered?: boolean;
}

/** What a relay needs for one call. */
export interface CallContext {
  res: ServerResponse;
  body: PerfChatBody;
  perf: PerfClient;
  guard: CallGuard;
  facts: CallFacts;
  requestId: string;
  logger: Logger;
  streamIdleTimeoutMs: number;
  /** A stream with nothing to send for this long sends an SSE comment. */
  streamHeartbeatMs: number;
  /** Prices per model, for estimating a stream that reports no cost. */
  prices: PriceBook;
  /** The caller asked for the usage chunk (OpenAI's stream_options.include_usage): relayed, not withheld. */
  wantsUsage: boolean;
  /** How the face writes an error (a stream's final event uses it too). */
  errorShape: ErrorShape;
}

/**
 * How a relay ended. The route settles the reservation from `outcome` (the money rule), then
 * calls `finish()`: the JSON answer is sent, or the stream ends. `error` is what the browser is
 * told: a JSON error while nothing was sent yet, else the stream's final event.
 */
export interface Relayed {
  outcome: CallOutcome;
  error?: HttpError;
  /** An answer that reported its tokens and cost: one more equation for the model's prices. */
  observed?: PriceObservation;
  finish(): void;
}

export interface PriceObservation {
  model: string;
  counts: TokenCounts;
  costUsd: number;
}
