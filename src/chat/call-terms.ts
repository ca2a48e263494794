import { HttpError } from '../http/errors';
import { usdToMicros } from '../limits/money';
import type { Plan } from '../limits/plans';
import type { ChatRequest } from './schema';

/** The name that stands for "Perf picks the model" (no `model` sent). */
export const AUTO_MODEL = 'auto';

/** What a call may ask of Perf under the caller's plan. */
export interface CallTerms {
  /** undefined: none is sent, Perf picks. */
  model: string | undefined;
  maxTokens: number | undefined;
  /** Sent as max_cost_per_call and reserved: the client's value, at most the plan's. */
  capMicros: number;
}

/**
 * What reaches Perf, decided by the plan, before any upstream call: a named model outside the
 * plan is a 400 that lists the allowed ones (leaving it out is always allowed: Perf's router picks
 * within the cost cap); `max_tokens` above the plan's ceiling is a 400, and the ceiling is sent
 * when the call asks for none; the cost cap is the smaller of the client's and the plan's.
 */
export function callTerms(request: ChatRequest, plan: Plan): CallTerms {
  const model = request.model === undefined || request.model === AUTO_MODEL ? undefined : request.model;
  if (model !== undefined && plan.models !== '*' && !plan.models.includes(model)) {
    throw new HttpError(
      400,
      'invalid_request',
      `Model "${model}" is not available. Allowed: ${availableModels(plan).join(', ')}.`,
      undefined,
      'model',
    );
  }
  if (request.max_tokens !== undefined && plan.maxTokens !== undefined && request.max_tokens > plan.maxTokens) {
    throw new HttpError(400, 'invalid_request', `Field "max_tokens": at most ${plan.maxTokens}.`, undefined, 'max_tokens');
  }
  return { model, maxTokens: request.max_tokens ?? plan.maxTokens, capMicros: capMicrosFor(request, plan) };
}

/** The cost cap alone: reserved at admission, before the plan is certain (callTerms checks the rest). */
export function capMicrosFor(request: Pick<ChatRequest, 'max_cost_per_call'>, plan: Plan): number {
  const asked = request.max_cost_per_call === undefined ? plan.maxCostPerCallMicros : usdToMicros(request.max_cost_per_call);
  const capMicros = Math.min(asked, plan.maxCostPerCallMicros);
  if (capMicros < 1)
    throw new HttpError(
      400,
      'invalid_request',
      'Field "max_cost_per_call": must be at least 0.000001 USD.',
      undefined,
      'max_cost_per_call',
    );
  return capMicros;
}

/** The models a caller may name, for GET /api/v1/models: "auto", then the plan's list. */
export function availableModels(plan: Plan): string[] {
  return plan.models === '*' ? [AUTO_MODEL] : [AUTO_MODEL, ...plan.models.filter((m) => m !== AUTO_MODEL)];
}
