import type { Budget, Window } from './admission';
import type { Plan } from './plans';

/** Who is calling, as far as limits go. */
export interface Caller {
  /** What everything is keyed by: a username, `oidc:…`, or `guest:…`. */
  id: string;
  /** A guest is limited per client address as well: a new cookie must not buy a new budget. */
  guestAddress?: string;
}

/** The operator's budgets above every user's. */
export interface Pools {
  /** The whole bill's ceiling per rolling 24 h; null: none. */
  globalDailyBudgetMicros: number | null;
  /** All guests together; null: no pool limit. */
  guestPoolDailyBudgetMicros: number | null;
}

/** Whose money a budget is: the caller's own (a 429 when full), or everyone's (a 503). */
export type BudgetKind = 'own' | 'address' | 'guest_pool' | 'global';

export const GLOBAL_BUDGET_ID = 'pool:global';
export const GUEST_POOL_ID = 'pool:guests';
export const addressId = (address: string): string => `guest-ip:${address}`;

export interface Entitlement {
  plan: Plan;
  windows: Window[];
  budgets: Budget[];
  /** What each of `budgets` is, in the same order. */
  kinds: BudgetKind[];
}

/** Every window a call counts in and every budget it reserves in, for this caller on this plan. */
export function entitlementFor(caller: Caller, plan: Plan, pools: Pools): Entitlement {
  const limits = { requestsPerWindow: plan.requestsPerWindow, windowSeconds: plan.windowSeconds };
  const windows: Window[] = [{ id: caller.id, ...limits }];
  const budgets: Budget[] = [{ id: caller.id, budgetMicros: plan.dailyBudgetMicros }];
  const kinds: BudgetKind[] = ['own'];
  if (caller.guestAddress !== undefined) {
    const address = addressId(caller.guestAddress);
    windows.push({ id: address, ...limits });
    budgets.push(
      { id: address, budgetMicros: plan.dailyBudgetMicros },
      { id: GUEST_POOL_ID, budgetMicros: pools.guestPoolDailyBudgetMicros },
    );
    kinds.push('address', 'guest_pool');
  }
  if (pools.globalDailyBudgetMicros !== null) {
    budgets.push({ id: GLOBAL_BUDGET_ID, budgetMicros: pools.globalDailyBudgetMicros });
    kinds.push('global');
  }
  return { plan, windows, budgets, kinds };
}
