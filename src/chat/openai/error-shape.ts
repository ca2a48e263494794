import type { ErrorType, HttpError } from '../../http/errors';

/** OpenAI's error body: the SDKs read `error.message`, `type`, `param` and `code`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: ErrorType; request_id: string };
}

/**
 * Our error in OpenAI's shape. `code` keeps our precise type (budget_exceeded, …); `type` is the
 * broad class OpenAI clients switch on. The HTTP status is unchanged, and it is what the SDKs map
 * to their exceptions (401 AuthenticationError, 429 RateLimitError, …).
 */
export function openAiErrorBody(err: HttpError, requestId: string): OpenAiErrorBody {
  return { error: { message: err.message, type: typeFor(err.status), param: err.param ?? null, code: err.type, request_id: requestId } };
}

function typeFor(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}
