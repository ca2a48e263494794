import type { Request } from 'express';
import { currentUser } from '../auth/require-user';
import type { Caller, Pools } from '../limits/entitlement';
import type { Plan, Plans } from '../limits/plans';
import type { PlanStore } from '../limits/plans';

export interface PlanSettings {
  plans: Plans;
  defaultPlan: string;
  guestPlan: string | undefined;
  pools: Pools;
}

/** The plan by name; a name no longer in the plans (removed from the file) means the default plan. */
export function planNamed(settings: PlanSettings, name: string | undefined): Plan {
  const plan = settings.plans.get(name ?? settings.defaultPlan) ?? settings.plans.get(settings.defaultPlan);
  if (plan === undefined) throw new Error(`no plan named ${settings.defaultPlan}`);
  return plan;
}

/** The caller, and the plan their session last knew them to be on (a guest's is fixed). */
export function callerOf(req: Request, settings: PlanSettings): { caller: Caller; plan: Plan } {
  const id = currentUser(req);
  const guest = req.session.user?.guest;
  if (guest !== undefined) return { caller: { id, guestAddress: guest.address }, plan: planNamed(settings, settings.guestPlan) };
  return { caller: { id }, plan: planNamed(settings, req.session.user?.plan) };
}

/** The plan the operator has the caller on now: the store is the truth, the session only a hint. */
export async function assignedPlan(store: PlanStore, settings: PlanSettings, caller: Caller): Promise<Plan> {
  if (caller.guestAddress !== undefined) return planNamed(settings, settings.guestPlan);
  return planNamed(settings, await store.get(caller.id));
}
