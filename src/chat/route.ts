import type { Request, RequestHandler, Response } from 'express';
import { errorBody, HttpError, requestIdOf } from '../http/errors';
import { setRateLimitHeaders } from '../http/rate-limit-headers';
import { logAfter } from '../http/request-log';
import type { Logger } from '../infra/logger';
import type { Metrics } from '../infra/metrics';
import type { AdmissionStore } from '../limits/admission';
import type { Entitlement } from '../limits/entitlement';
import { microsToUsd } from '../limits/money';
import { ceilingSettlement, describeOutcome, settlementFor, spendSourceOf } from '../limits/settle-policy';
import type { Settlement } from '../limits/settle-policy';
import type { PerfChatBody, PerfClient } from '../perf/client';
import type { PlanStore } from '../limits/plans';
import { dayOf } from '../limits/spend';
import type { SpendLog } from '../limits/spend';
import { admit, release } from './admission';
import type { Admission, AdmissionDeps } from './admission';
import type { GlobalBudgetWatch } from './budget-watch';
import type { CallContext, CallFacts, PriceObservation, Relayed } from './call-context';
import { CallGuard } from './call-guard';
import { callTerms, capMicrosFor } from './call-terms';
import type { PriceBook } from './price-book';
import type { CallTerms } from './call-terms';
import { assignedPlan, callerOf } from './caller-plan';
import { entitlementFor } from '../limits/entitlement';
import type { PlanSettings } from './caller-plan';
import { relayJson } from './relay-json';
import { relayStream } from './relay-stream';
import type { ChatRequest } from './schema';
import { uniqueIds } from '../infra/unique-id';

export interface ChatRouteOptions {
  /** The face's request format (ours, or OpenAI's), validated into the shared call; throws a 400. */
  parse: (body: unknown) => ChatRequest;
  perf: PerfClient;
  admission: AdmissionStore;
  planStore: PlanStore;
  spend: SpendLog;
  plans: PlanSettings;
  globalWatch?: GlobalBudgetWatch | undefined;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** A JSON call's whole answer. */
  upstreamTimeoutMs: number;
  /** A stream's wait for Perf's first byte. */
  streamStartTimeoutMs: number;
  streamIdleTimeoutMs: number;
  streamHeartbeatMs: number;
  /** The model prices a stream without a reported cost is estimated at; answers that report one teach it. */
  prices: PriceBook;
  /** An estimate is charged × this, at most the cap. */
  streamCostMargin: number;
  now?: () => number;
}

function validated(options: ChatRouteOptions): ChatRouteOptions {
  for (const name of ['upstreamTimeoutMs', 'streamStartTimeoutMs', 'streamIdleTimeoutMs', 'streamHeartbeatMs'] as const) {
    if (!(options[name] > 0)) throw new TypeError(`${name} must be positive`);
  }
  if (!(options.streamCostMargin >= 1)) throw new TypeError('streamCostMargin must be at least 1');
  if (!options.plans.plans.has(options.plans.defaultPlan))
    throw new TypeError(`the default plan "${options.plans.defaultPlan}" is not a plan`);
  return options;
}

/**
 * A chat face's route after the session: validate → admit under the caller's plan → call → settle
 * → answer. The relays say how the call ended; the money rule (limits/settle-policy.ts) says what
 * it costs.
 */
export function chatRoute(options: ChatRouteOptions): RequestHandler {
  const o = validated(options);
  const now = o.now ?? Date.now;
  // A reservation's id is a field of the user's ledger, shared by every instance: unique across them.
  const nextReservationId = uniqueIds();
  const admission: AdmissionDeps = {
    store: o.admission,
    logger: o.logger,
    onRateLimited: () => o.metrics?.rateLimitRejections.inc(),
    onBudgetExceeded: () => o.metrics?.budgetRejections.inc(),
    onServiceBudgetExhausted: () => o.metrics?.serviceBudgetRejections.inc(),
  };

  /**
   * Admits the call under the plan the session knows, while the store is asked for the plan the
   * operator has the caller on now: both in one round trip. When they differ (the plan changed
   * since), that reservation is handed back and the call admitted again under the right plan.
   * Only the cap is known before the plan is certain; the rest of the plan's terms (model,
   * max_tokens) are checked after. Sets the rate-limit headers and throws the refusal, if any.
   */
  async function admitUnderPlan(
    req: Request,
    res: Response,
    parsed: ChatRequest,
    reservationId: string,
  ): Promise<{ entitlement: Entitlement; terms: CallTerms }> {
    const { caller, plan: known } = callerOf(req, o.plans);
    let entitlement = entitlementFor(caller, known, o.plans.pools);
    const [current, first] = await Promise.allSettled([
      assignedPlan(o.planStore, o.plans, caller),
      admit(admission, entitlement, reservationId, capMicrosFor(parsed, known)),
    ]);
    if (first.status === 'rejected') throw first.reason;
    let admitted = first.value;
    if (current.status === 'rejected') {
      if (admitted.admitted) await release(o.admission, entitlement, reservationId).catch(() => undefined);
      throw new HttpError(503, 'service_unavailable', 'The service is temporarily unavailable.');
    }
    if (current.value.name !== known.name) {
      if (admitted.admitted) await release(o.admission, entitlement, reservationId);
      const user = req.session.user;
      if (user !== undefined) user.plan = current.value.name;
      entitlement = entitlementFor(caller, current.value, o.plans.pools);
      // This request counts once more in its window: a plan change costs the caller one request, once.
      admitted = await admit(admission, entitlement, reservationId, capMicrosFor(parsed, current.value));
    }
    const underPlan = entitlement;
    /** Every chat answer says where the caller stands; the operator's ceiling is watched from it. */
    const tell = (admission: Admission): void => {
      if (admission.rate !== undefined) setRateLimitHeaders(res, admission.rate);
      watchGlobalBudget(o, underPlan, admission);
    };
    if (!admitted.admitted) {
      tell(admitted);
      throw admitted.error;
    }
    let terms: CallTerms;
    try {
      terms = callTerms(parsed, entitlement.plan);
    } catch (err) {
      // Held to the plan only now that the plan is certain: the reservation goes back, the request still counted.
      await release(o.admission, entitlement, reservationId);
      if (!(err instanceof HttpError)) throw err;
      tell({ admitted: false, rate: admitted.rate, error: err });
      throw err;
    }
    tell(admitted);
    return { entitlement, terms };
  }

  return async function chat(req: Request, res: Response): Promise<void> {
    const parsed = o.parse(req.body);
    const reservationId = nextReservationId();
    const { entitlement, terms } = await admitUnderPlan(req, res, parsed, reservationId);
    const facts: CallFacts = { stream: parsed.stream === true, plan: entitlement.plan.name };
    res.locals.call = facts;
    const call = callAndSettle(req, res, facts, reservationId, entitlement, terms, parsed);
    // The request's log line waits for the settlement, even when the browser has already gone.
    logAfter(res, call);
    await call;
  };

  async function callAndSettle(
    req: Request,
    res: Response,
    facts: CallFacts,
    reservationId: string,
    entitlement: Entitlement,
    terms: CallTerms,
    parsed: ChatRequest,
  ): Promise<void> {
    const ctx: CallContext = {
      res,
      body: upstreamBody(parsed, terms),
      perf: o.perf,
      guard: new CallGuard(res, facts.stream ? o.streamStartTimeoutMs : o.upstreamTimeoutMs),
      facts,
      requestId: requestIdOf(req),
      logger: o.logger,
      streamIdleTimeoutMs: o.streamIdleTimeoutMs,
      streamHeartbeatMs: o.streamHeartbeatMs,
      prices: o.prices,
      wantsUsage: parsed.wantsUsage === true,
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
    const settlement = settlementFor(relayed.outcome, { capMicros: terms.capMicros, streamCostMargin: o.streamCostMargin });
    facts.outcome ??= relayed.error?.type ?? describeOutcome(relayed.outcome);
    facts.settled = settlement.kind;
    await settle(o, { entitlement, reservationId, settlement, capMicros: terms.capMicros, now: now(), facts, observed: relayed.observed });
    if (fault !== undefined) throw fault instanceof Error ? fault : new Error('the relay failed');
    if (relayed.error !== undefined && !res.headersSent) throw relayed.error;
    relayed.finish();
  }
}

/** The operator's ceiling is watched from every admission that touches it. */
function watchGlobalBudget(o: ChatRouteOptions, entitlement: Entitlement, admitted: Admission): void {
  const at = entitlement.kinds.indexOf('global');
  const budget = entitlement.budgets[at]?.budgetMicros;
  if (o.globalWatch === undefined || at < 0 || budget === undefined || budget === null) return;
  if (admitted.admitted) o.globalWatch.observe(admitted.used[at] ?? 0, budget, false);
  else if (admitted.error.type === 'service_budget_exhausted') o.globalWatch.observe(budget, budget, true);
}

interface Settling {
  entitlement: Entitlement;
  reservationId: string;
  settlement: Settlement;
  capMicros: number;
  now: number;
  facts: CallFacts;
  observed: PriceObservation | undefined;
}

/**
 * Closes the reservation in every budget it was made in (the operator's ceiling never on an
 * estimate: see ceilingSettlement), writes the call into the spend log, and hands an answer's
 * reported tokens and cost to the price book: all issued together, so they leave in one round
 * trip. A failure is logged and otherwise ignored: the reservation then stays charged, which errs
 * on the side of the budget.
 */
async function settle(o: ChatRouteOptions, s: Settling): Promise<void> {
  const { entitlement, settlement } = s;
  const user = entitlement.budgets[0]?.id ?? '';
  const plan = entitlement.plan.name;
  const source = spendSourceOf(settlement);
  const micros = settlement.kind === 'charge' ? settlement.micros : settlement.kind === 'keep' ? s.capMicros : 0;
  const ceiling = ceilingSettlement(settlement);
  const ids = (global: boolean) => entitlement.budgets.filter((_b, i) => (entitlement.kinds[i] === 'global') === global).map((b) => b.id);
  const closing =
    ceiling === settlement
      ? [
          o.admission.settle(
            s.reservationId,
            entitlement.budgets.map((b) => b.id),
            settlement,
          ),
        ]
      : [o.admission.settle(s.reservationId, ids(false), settlement), o.admission.settle(s.reservationId, ids(true), ceiling)];
  const [logged, ...rest] = await Promise.allSettled([
    o.spend.record(dayOf(s.now), user, plan, source === undefined ? undefined : { source, micros }),
    ...closing,
    ...(s.observed === undefined ? [] : [o.prices.observe(s.observed.model, s.observed.counts, s.observed.costUsd)]),
  ]);
  for (const result of rest.slice(0, closing.length)) {
    if (result.status === 'rejected') {
      o.logger.error(
        { err: { message: (result.reason as Error).message }, outcome: settlement.kind },
        'could not settle a reservation; it stays charged',
      );
    }
  }
  if (logged.status === 'rejected') o.logger.warn({ err: { message: (logged.reason as Error).message } }, 'could not write the spend log');
  if (source !== undefined) {
    s.facts.cost_source = source;
    s.facts.charged_usd = microsToUsd(micros);
  }
  o.metrics?.callsOf(plan, settlement.kind).inc();
  if (source !== undefined) o.metrics?.spendUsdOf(plan, source).inc(microsToUsd(micros));
}

/** Built field by field from the validated request and its terms: nothing from the browser is copied whole. */
function upstreamBody(request: ChatRequest, terms: CallTerms): PerfChatBody {
  const body: PerfChatBody = {
    messages: request.messages.map((m) => ({
      role: m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((p) => ({ type: 'text' as const, text: p.text })),
      ...(m.name === undefined ? {} : { name: m.name }),
    })),
    max_cost_per_call: microsToUsd(terms.capMicros),
  };
  if (terms.model !== undefined) body.model = terms.model;
  if (terms.maxTokens !== undefined) body.max_tokens = terms.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  return body;
}
