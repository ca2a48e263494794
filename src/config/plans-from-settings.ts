import { readFileSync } from 'node:fs';
import { parsePlans, planFrom } from '../limits/plans';
import { parsePrices } from '../limits/prices';
import type { UnitPrices } from '../limits/prices';
import type { Plan } from '../limits/plans';
import type { Settings } from './settings';

export type ReadFile = (path: string) => string;

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

/**
 * The plans: PLANS_FILE's, or else one plan named "default" made of the rate-limit, budget, cap
 * and model settings, so that a deployment without a plans file keeps working as it did.
 */
export function plansFrom(s: Settings, readFile: ReadFile, problems: string[]): Map<string, Plan> {
  if (s.PLANS_FILE === undefined) {
    const plan = planFrom(s.DEFAULT_PLAN ?? 'default', {
      requests_per_window: s.RATE_LIMIT_REQUESTS,
      window_seconds: s.RATE_LIMIT_WINDOW_SECONDS,
      daily_budget_usd: s.DAILY_BUDGET_USD,
      max_cost_per_call: s.MAX_COST_PER_CALL,
      models: s.ALLOWED_MODELS,
    });
    return new Map([[plan.name, plan]]);
  }
  const text = readSettingsFile('PLANS_FILE', s.PLANS_FILE, readFile, problems);
  if (text === undefined) return new Map();
  const { plans, problems: found } = parsePlans(text);
  problems.push(...found.map((p) => `PLANS_FILE ${p}`));
  return new Map(plans);
}

/** The plans other settings name must exist. */
export function planReferenceProblems(s: Settings, plans: ReadonlyMap<string, Plan>): string[] {
  if (plans.size === 0) return [];
  const names = [...plans.keys()].join(', ');
  const problems: string[] = [];
  const defaultPlan = s.DEFAULT_PLAN ?? 'default';
  if (!plans.has(defaultPlan)) problems.push(`DEFAULT_PLAN "${defaultPlan}" is not a plan in PLANS_FILE (${names})`);
  if (s.GUEST_PLAN !== undefined && !plans.has(s.GUEST_PLAN)) problems.push(`GUEST_PLAN "${s.GUEST_PLAN}" is not a plan (${names})`);
  return problems;
}

/** The operator's prices per model (PRICES_FILE), which win over learned ones; none without the file. */
export function pricesFrom(s: Settings, readFile: ReadFile, problems: string[]): Map<string, UnitPrices> {
  if (s.PRICES_FILE === undefined) return new Map();
  const text = readSettingsFile('PRICES_FILE', s.PRICES_FILE, readFile, problems);
  if (text === undefined) return new Map();
  const { prices, problems: found } = parsePrices(text);
  problems.push(...found.map((p) => `PRICES_FILE ${p}`));
  return prices;
}

/** A file a setting names; undefined (and the problem said) when it cannot be read. */
function readSettingsFile(setting: string, path: string, readFile: ReadFile, problems: string[]): string | undefined {
  try {
    return readFile(path);
  } catch (err) {
    problems.push(`${setting} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${path}`);
    return undefined;
  }
}
