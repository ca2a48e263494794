import type { Response } from 'express';
import type { Logger } from '../infra/logger';
import type { PerfChatBody, PerfClient } from '../perf/client';
import type { CallGuard } from './call-guard';
import type { Settlement } from './settlement';

/** What the request log line says about the upstream call: metadata only, never text. */
export interface CallFacts {
  stream: boolean;
  upstream_status?: number;
  attempts?: number;
  model_used?: string;
  tokens?: number;
  cost_usd?: number;
  settled?: 'charge' | 'keep' | 'release';
  outcome?: string;
}

export interface CallContext {
  res: Response;
  body: PerfChatBody;
  perf: PerfClient;
  guard: CallGuard;
  settlement: Settlement;
  facts: CallFacts;
  requestId: string;
  logger: Logger;
  streamIdleTimeoutMs: number;
}
