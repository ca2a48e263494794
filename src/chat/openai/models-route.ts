import type { Request, RequestHandler, Response } from 'express';
import { HttpError } from '../../http/errors';
import type { PlanStore } from '../../limits/plans';
import { availableModels } from '../call-terms';
import { assignedPlan, callerOf } from '../caller-plan';
import type { PlanSettings } from '../caller-plan';

/** GET /api/v1/models: the models the caller's plan lets them name, in OpenAI's list shape. */
export function modelsRoute(options: { planStore: PlanStore; plans: PlanSettings }): RequestHandler {
  // Each plan's answer is the same for every caller on it: written once.
  const bodies = new Map(
    [...options.plans.plans.values()].map((plan) => [
      plan.name,
      JSON.stringify({ object: 'list', data: availableModels(plan).map((id) => ({ id, object: 'model', created: 0, owned_by: 'perf' })) }),
    ]),
  );
  return async function models(req: Request, res: Response): Promise<void> {
    const { caller } = callerOf(req, options.plans);
    const plan = await assignedPlan(options.planStore, options.plans, caller).catch(() => {
      throw new HttpError(503, 'service_unavailable', 'The service is temporarily unavailable.');
    });
    res.type('application/json').send(bodies.get(plan.name));
  };
}
