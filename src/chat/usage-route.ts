import type { Request, RequestHandler, Response } from 'express';
import { HttpError } from '../http/errors';
import { setRateLimitHeaders } from '../http/rate-limit-headers';
import { tightest } from '../limits/admission';
import type { AdmissionStore, BudgetStatus } from '../limits/admission';
import { microsToUsd } from '../limits/money';
import type { PlanStore } from '../limits/plans';
import { dayOf } from '../limits/spend';
import type { SpendLog } from '../limits/spend';
import { assignedPlan, callerOf } from './caller-plan';
import { entitlementFor } from '../limits/entitlement';
import type { PlanSettings } from './caller-plan';

/** The caller's own budgets (not the pools): the one with the least left is what binds them. */
function binding(budgets: BudgetStatus[]): BudgetStatus | undefined {
  const left = (b: BudgetStatus) => (b.limitMicros === null ? Infinity : b.limitMicros - b.usedMicros);
  return budgets.reduce<BudgetStatus | undefined>((a, b) => (a === undefined || left(b) < left(a) ? b : a), undefined);
}

export interface UsageRouteOptions {
  admission: AdmissionStore;
  planStore: PlanStore;
  plans: PlanSettings;
  spend: SpendLog;
  now?: () => number;
}

/**
 * GET /api/usage: what the page shows — the plan, requests left in the window, money left in the
 * rolling day — and today's charges (UTC) by where their amounts came from.
 */
export function usageRoute(options: UsageRouteOptions): RequestHandler {
  const now = options.now ?? Date.now;
  return async function usage(req: Request, res: Response): Promise<void> {
    const { caller } = callerOf(req, options.plans);
    const day = dayOf(now());
    let plan, standing, today;
    try {
      plan = await assignedPlan(options.planStore, options.plans, caller);
      const entitlement = entitlementFor(caller, plan, options.plans.pools);
      [standing, today] = await Promise.all([
        options.admission.status(entitlement.windows, entitlement.budgets),
        options.spend.entry(day, entitlement.budgets[0]?.id ?? '', plan.name),
      ]);
      standing = {
        ...standing,
        budgets: standing.budgets.filter((_b, i) => entitlement.kinds[i] === 'own' || entitlement.kinds[i] === 'address'),
      };
    } catch {
      throw new HttpError(503, 'service_unavailable', 'Usage is temporarily unavailable.');
    }
    const rate = tightest(standing.rates);
    const budget = binding(standing.budgets) ?? { limitMicros: null, usedMicros: 0, reservedMicros: 0, resetAt: null };
    setRateLimitHeaders(res, rate);
    const limit = budget.limitMicros;
    res.json({
      plan: plan.name,
      rate_limit: { limit: rate.limit, remaining: rate.remaining, reset: rate.resetAt },
      budget: {
        limit_usd: limit === null ? null : microsToUsd(limit),
        spent_usd: microsToUsd(budget.usedMicros - budget.reservedMicros),
        reserved_usd: microsToUsd(budget.reservedMicros),
        remaining_usd: limit === null ? null : microsToUsd(Math.max(0, limit - budget.usedMicros)),
        reset: budget.resetAt,
      },
      today: {
        day,
        calls: today.calls,
        reported_usd: microsToUsd(today.reportedMicros),
        estimated_usd: microsToUsd(today.estimatedMicros),
        cap_kept_usd: microsToUsd(today.keptMicros),
      },
    });
  };
}
