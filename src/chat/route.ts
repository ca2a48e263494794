import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { currentUser } from '../auth/require-user';
import { errorBody, HttpError, requestIdOf } from '../http/errors';
import { setRateLimitHeaders } from '../http/rate-limit-headers';
import type { Logger } from '../infra/logger';
import type { Metrics } from '../infra/metrics';
import type { AdmissionStore, Limits, SettleOutcome } from '../limits/admission';
import { microsToUsd, usdToMicros } from '../limits/money';
import { describeOutcome, settlementFor } from '../limits/settle-policy';
import type { PerfChatBody, PerfClient } from '../perf/client';
import { admit } from './admission';
import type { CallContext, CallFacts, Relayed } from './call-context';
import { CallGuard } from './call-guard';
import { resolveModel } from './model-policy';
import { relayJson } from './relay-json';
import { relayStream } from './relay-stream';
import type { ChatRequest } from './schema';

export interface ChatRouteOptions {
  /** The face's request format (ours, or OpenAI's), validated into the shared call; throws a 400. */
  parse: (body: unknown) => ChatRequest;
  perf: PerfClient;
  admission: AdmissionStore;
  logger: Logger;
  metrics?: Metrics | undefined;
  limits: Limits;
  maxCostPerCallMicros: number;
  allowedModels: readonly string[] | '*';
  upstreamTimeoutMs: number;
  streamIdleTimeoutMs: number;
}

function validated(options: ChatRouteOptions): ChatRouteOptions {
  if (!Number.isInteger(options.maxCostPerCallMicros) || options.maxCostPerCallMicros < 1)
    throw new TypeError('maxCostPerCallMicros must be a whole number of micro-dollars, at least 1');
  for (const name of ['upstreamTimeoutMs', 'streamIdleTimeoutMs'] as const) {
    if (!(options[name] > 0)) throw new TypeError(`${name} must be positive`);
  }
  return options;
}

/**
 * A chat face's route after the session: validate → rate limit + reserve → call → settle → answer.
 * The relays say how the call ended; the money rule (limits/settle-policy.ts) says what it costs.
 */
export function chatRoute(options: ChatRouteOptions): RequestHandler {
  const o = validated(options);
  const admission = {
    store: o.admission,
    logger: o.logger,
    onRateLimited: () => o.metrics?.rateLimitRejections.inc(),
    onBudgetExceeded: () => o.metrics?.budgetRejections.inc(),
  };
  return async function chat(req: Request, res: Response): Promise<void> {
    const user = currentUser(req);
    const parsed = o.parse(req.body);
    const request: ChatRequest = { ...parsed, model: resolveModel(parsed.model, o.allowedModels) };
    const capMicros = Math.min(
      request.max_cost_per_call === undefined ? o.maxCostPerCallMicros : usdToMicros(request.max_cost_per_call),
      o.maxCostPerCallMicros,
    );
    if (capMicros < 1)
      throw new HttpError(
        400,
        'invalid_request',
        'Field "max_cost_per_call": must be at least 0.000001 USD.',
        undefined,
        'max_cost_per_call',
      );

    const reservationId = randomUUID();
    const admitted = await admit(admission, user, reservationId, capMicros, o.limits);
    if (admitted.rate !== undefined) setRateLimitHeaders(res, admitted.rate);
    if (!admitted.admitted) throw admitted.error;

    const facts: CallFacts = { stream: request.stream === true };
    res.locals.call = facts;
    const ctx: CallContext = {
      res,
      body: upstreamBody(request, capMicros),
      perf: o.perf,
      guard: new CallGuard(res, o.upstreamTimeoutMs),
      facts,
      requestId: requestIdOf(req),
      logger: o.logger,
      streamIdleTimeoutMs: o.streamIdleTimeoutMs,
      errorShape: res.locals.errorShape ?? errorBody,
    };
    if (facts.stream) o.metrics?.openStreams.inc();
    let relayed: Relayed;
    let fault: unknown;
    try {
      relayed = await (facts.stream ? relayStream(ctx) : relayJson(ctx));
    } catch (err) {
      // A fault of ours after admission: the request may already be with Perf, so its cap is kept.
      ctx.guard.done();
      fault = err;
      relayed = { outcome: { kind: 'ambiguous', why: 'internal_error' }, finish: () => undefined };
    } finally {
      if (facts.stream) o.metrics?.openStreams.dec();
    }
    const settlement = settlementFor(relayed.outcome);
    facts.outcome = describeOutcome(relayed.outcome);
    facts.settled = settlement.kind;
    await settle(o, user, reservationId, settlement);
    if (settlement.kind === 'charge') o.metrics?.spendUsd.inc({ source: 'reported' }, microsToUsd(settlement.micros));
    if (settlement.kind === 'keep') o.metrics?.spendUsd.inc({ source: 'kept_reservation' }, microsToUsd(capMicros));
    if (fault !== undefined) throw fault instanceof Error ? fault : new Error('the relay failed');
    if (relayed.error !== undefined && !res.headersSent) throw relayed.error;
    relayed.finish();
  };
}

/** A failure to settle is logged and otherwise ignored: the reservation stays charged, which errs on the side of the budget. */
async function settle(o: ChatRouteOptions, user: string, reservationId: string, outcome: SettleOutcome): Promise<void> {
  try {
    await o.admission.settle(user, reservationId, outcome);
  } catch (err) {
    o.logger.error({ err: { message: (err as Error).message }, outcome: outcome.kind }, 'could not settle a reservation; it stays charged');
  }
}

/** Built field by field from the validated request: nothing from the browser is copied whole. */
function upstreamBody(request: ChatRequest, capMicros: number): PerfChatBody {
  const body: PerfChatBody = {
    messages: request.messages.map((m) => ({
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
