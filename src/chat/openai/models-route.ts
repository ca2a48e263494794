import type { Request, Response } from 'express';
import { availableModels } from '../model-policy';

/** GET /api/v1/models: the models the caller may name, in OpenAI's list shape. */
export function modelsRoute(deps: { allowedModels: readonly string[] | '*' }) {
  const body = JSON.stringify({
    object: 'list',
    data: availableModels(deps.allowedModels).map((id) => ({ id, object: 'model', created: 0, owned_by: 'perf' })),
  });
  return function models(_req: Request, res: Response): void {
    res.type('application/json').send(body);
  };
}
