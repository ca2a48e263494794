import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Config } from '../config';
import { HttpError, requestIdOf } from '../http/errors';
import type { Logger } from '../infra/logger';
import type { Metrics } from '../infra/metrics';
import type { Ledger } from '../limits/ledger';
import type { UserRateLimit } from '../limits/rate-limit';
import { microsToUsd, usdToMicros } from '../limits/money';
import type { PerfChatBody, PerfClient } from '../perf/client';
import { ClientGone, UpstreamError } from '../perf/errors';
import { currentUser } from '../auth/require-user';
import { admit } from './admission';
import type { AdmissionDeps } from './admission';
import type { CallContext, CallFacts } from './call-context';
import { CallGuard } from './call-guard';
import { relayJson } from './relay-json';
import { relayStream } from './relay-stream';
import { resolveModel } from './model-policy';
import type { ChatRequest, ChatMessage } from './schema';
import { Settlement } from './settlement';

export interface ChatDeps {
  config: Config;
  perf: PerfClient;
  ledger: Ledger;
  limiter: UserRateLimit;
  logger: Logger;
  metrics?: Metrics | undefined;
}

/**
 * A chat face's route after the session: validate → rate limit + reserve → call → settle → relay.
 * `parse` is the face's own request format (ours, or OpenAI's), validated into the shared call.
 */
export function chatHandler(deps: ChatDeps, parse: (body: unknown) => ChatRequest) {
  const { config, perf, ledger, logger, metrics } = deps;
  const admission: AdmissionDeps = {
    limiter: deps.limiter,
    ledger,
    logger,
    onRateLimited: () => metrics?.rateLimitRejections.inc(),
    onBudgetExceeded: () => metrics?.budgetRejections.inc(),
  };
  return async function chat(req: Request, res: Response): Promise<void> {
    const user = currentUser(req);
    const parsed = parse(req.body);
    const request: ChatRequest = { ...parsed, model: resolveModel(parsed.model, config.allowedModels) };
    const capMicros = Math.min(request.max_cost_per_call === undefined ? config.maxCostPerCallMicros : usdToMicros(request.max_cost_per_call), config.maxCostPerCallMicros);
    if (capMicros < 1) throw new HttpError(400, 'invalid_request', 'Field "max_cost_per_call": must be at least 0.000001 USD.');

    const reservationId = randomUUID();
    await admit(admission, res, user, reservationId, capMicros);

    const facts: CallFacts = { stream: request.stream === true };
    res.locals.call = facts;
    const settlement = new Settlement(ledger, user, reservationId, logger);
    const ctx: CallContext = {
      res,
      body: upstreamBody(request, request.messages, capMicros),
      perf,
      guard: new CallGuard(res, config.upstreamTimeoutMs),
      settlement,
      facts,
      requestId: requestIdOf(req),
      logger,
      streamIdleTimeoutMs: config.streamIdleTimeoutMs,
    };
    if (request.stream === true) metrics?.openStreams.inc();
    try {
      if (ctx.guard.isClientGone()) {
        // Gone before anything was sent to Perf: nothing was spent.
        facts.outcome = 'client_gone';
        await settlement.settle({ kind: 'release' });
        return;
      }
      await (request.stream === true ? relayStream(ctx) : relayJson(ctx));
    } catch (err) {
      ctx.guard.done();
      if (err instanceof UpstreamError) {
        // Released only when no attempt can have been billed: refused, or definite failure statuses.
        facts.upstream_status = err.upstreamStatus;
        facts.outcome = err.httpError.type;
        await settlement.settle(err.answered ? { kind: 'keep' } : { kind: 'release' });
        throw err.httpError;
      }
      if (err instanceof ClientGone || ctx.guard.isClientGone()) {
        // The browser left while Perf was (maybe) working: its cost is unknown, so it stays charged.
        facts.outcome = 'client_gone';
        await settlement.settle(err instanceof ClientGone && !err.mayHaveBilled ? { kind: 'release' } : { kind: 'keep' });
        return;
      }
      await settlement.settle({ kind: 'release' });
      throw err;
    } finally {
      facts.settled = settlement.outcome;
      if (request.stream === true) metrics?.openStreams.dec();
      if (settlement.outcome === 'charge' && facts.cost_usd !== undefined) metrics?.spendUsd.inc({ source: 'reported' }, facts.cost_usd);
      if (settlement.outcome === 'keep') metrics?.spendUsd.inc({ source: 'kept_reservation' }, microsToUsd(capMicros));
    }
  };
}

/** Built field by field from the validated request: nothing from the browser is copied whole. */
function upstreamBody(request: ChatRequest, messages: ChatMessage[], capMicros: number): PerfChatBody {
  const body: PerfChatBody = {
    messages: messages.map((m) => ({
      role: m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((p) => ({ type: 'text' as const, text: p.text })),
      ...(m.name === undefined ? {} : { name: m.name }),
    })),
    max_cost_per_call: microsToUsd(capMicros),
  };
  if (request.model !== undefined) body.model = request.model;
  if (request.max_tokens !== undefined) body.max_tokens = request.max_tokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  return body;
}
