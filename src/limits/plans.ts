import { z } from 'zod';
import { jsonObject } from './json-object';
import { usdToMicros } from './money';

/** What a user is entitled to: their rate limit, budget, cost cap, models and answer length. */
export interface Plan {
  name: string;
  requestsPerWindow: number;
  windowSeconds: number;
  /** The rolling 24 h budget; null: no limit (spend is still counted). */
  dailyBudgetMicros: number | null;
  maxCostPerCallMicros: number;
  /** Models a caller may name; '*' lets any name through. Leaving it out (Perf picks) is always allowed. */
  models: readonly string[] | '*';
  /** The largest `max_tokens` a call may ask for (and what is sent when it asks for none); undefined: no ceiling. */
  maxTokens: number | undefined;
}

export type Plans = ReadonlyMap<string, Plan>;

/** Which plan each user is on (none: the default plan), shared by every instance. */
export interface PlanStore {
  get(user: string): Promise<string | undefined>;
  /** undefined: back to the default plan. */
  set(user: string, plan: string | undefined): Promise<void>;
}

/** A model name as Perf takes it: the chat schemas, ALLOWED_MODELS, the plans and prices files. */
export const MODEL_PATTERN = /^[\w.:/-]{1,100}$/;
export const PLAN_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const dollars = z.number().min(0).max(1_000_000).multipleOf(0.000001, 'has more than 6 decimals');

const planShape = z.strictObject({
  requests_per_window: z.int().min(1).max(1_000_000),
  window_seconds: z.int().min(1).max(86_400),
  daily_budget_usd: dollars,
  max_cost_per_call: dollars.min(0.000001, 'must be at least 0.000001'),
  models: z.union([z.literal('*'), z.array(z.string().regex(MODEL_PATTERN, 'is not a model name')).min(1)]),
  max_tokens: z.int().min(1).max(1_000_000).optional(),
});

export type PlanFields = z.input<typeof planShape>;

/**
 * Reads a plans file's contents (JSON) into plans, with every problem named at once:
 * `{ "<plan>": { requests_per_window, window_seconds, daily_budget_usd, max_cost_per_call, models, max_tokens? } }`.
 */
export function parsePlans(json: string): { plans: Plans; problems: string[] } {
  const file = jsonObject(json, 'plans');
  if ('problem' in file) return { plans: new Map(), problems: [file.problem] };
  const plans = new Map<string, Plan>();
  const problems: string[] = [];
  for (const [name, fields] of Object.entries(file.raw)) {
    if (!PLAN_NAME_PATTERN.test(name)) problems.push(`plan "${name}": the name must be 1-32 lowercase letters, digits, _ or -`);
    const parsed = planShape.safeParse(fields);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const where = issue.path.length === 0 ? '' : ` "${issue.path.map(String).join('.')}"`;
        problems.push(
          issue.code === 'unrecognized_keys'
            ? `plan "${name}": unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`
            : `plan "${name}"${where}: ${issue.message}`,
        );
      }
      continue;
    }
    const plan = planFrom(name, parsed.data);
    if (plan.dailyBudgetMicros !== null && plan.maxCostPerCallMicros > plan.dailyBudgetMicros) {
      problems.push(`plan "${name}": max_cost_per_call is larger than daily_budget_usd, so no call could ever fit`);
    }
    plans.set(name, plan);
  }
  if (Object.keys(file.raw).length === 0) problems.push('holds no plan');
  return { plans, problems };
}

export function planFrom(name: string, fields: z.output<typeof planShape>): Plan {
  const budget = usdToMicros(fields.daily_budget_usd);
  return {
    name,
    requestsPerWindow: fields.requests_per_window,
    windowSeconds: fields.window_seconds,
    // 0 turns the limit off, as DAILY_BUDGET_USD=0 always has.
    dailyBudgetMicros: budget > 0 ? budget : null,
    maxCostPerCallMicros: usdToMicros(fields.max_cost_per_call),
    models: fields.models === '*' ? '*' : Object.freeze([...fields.models]),
    maxTokens: fields.max_tokens,
  };
}
