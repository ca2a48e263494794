import { HttpError } from '../http/errors';

/** The name that stands for "Perf picks the model" (no `model` sent). */
export const AUTO_MODEL = 'auto';

/**
 * The model to send Perf (undefined: none, Perf picks), or a 400. Which models a caller may name. Leaving `model` out is always allowed: Perf's router then
 * picks one within the call's cost cap. A named model outside the list is refused before any
 * upstream call, and the answer says which ones are allowed.
 */
export function resolveModel(model: string | undefined, allowed: readonly string[] | '*'): string | undefined {
  if (model === undefined || model === AUTO_MODEL) return undefined;
  if (allowed === '*' || allowed.includes(model)) return model;
  throw new HttpError(
    400,
    'invalid_request',
    `Model "${model}" is not available. Allowed: ${[AUTO_MODEL, ...allowed].join(', ')}.`,
    undefined,
    'model',
  );
}

/** The models a caller may name, for GET /api/v1/models: "auto", then the allowed list. */
export function availableModels(allowed: readonly string[] | '*'): string[] {
  return allowed === '*' ? [AUTO_MODEL] : [AUTO_MODEL, ...allowed.filter((m) => m !== AUTO_MODEL)];
}
