// @ts-check
/**
 * Talking to our own server: fetch wrappers, the `{"error": {...}}` shape, the X-RateLimit-* headers.
 */

/** @typedef {{ type: string, message: string, request_id?: string, retry_after?: number }} ApiError */
/** @typedef {{ limit: number, remaining: number, reset: number }} RateLimit */

/**
 * @param {string} path
 * @param {RequestInit} [init]
 */
export function request(path, init = {}) {
  // Same origin only: the session cookie goes along, nothing goes anywhere else.
  return fetch(path, { credentials: 'same-origin', cache: 'no-store', ...init });
}

/**
 * @param {string} path
 * @param {unknown} body
 * @param {AbortSignal} [signal]
 */
export function postJson(path, body, signal) {
  /** @type {RequestInit} */
  const init = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  if (signal !== undefined) init.signal = signal;
  return request(path, init);
}

/**
 * Reads the server's `{"error": {...}}` body; anything else becomes a generic error of that status.
 * @param {Response} res
 * @returns {Promise<ApiError>}
 */
export async function readError(res) {
  /** @type {ApiError} */
  const fallback = { type: res.status >= 500 ? 'service_unavailable' : 'http_error', message: '' };
  let error = fallback;
  try {
    const body = /** @type {unknown} */ (await res.json());
    if (isErrorBody(body)) error = body.error;
  } catch {
    // Not JSON (a proxy's HTML page, say): the status alone has to do.
  }
  if (error.retry_after === undefined) {
    const header = Number(res.headers.get('Retry-After'));
    if (Number.isFinite(header) && header > 0) error = { ...error, retry_after: header };
  }
  return error;
}

/**
 * @param {unknown} value
 * @returns {value is { error: ApiError }}
 */
export function isErrorBody(value) {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = value.error;
  return typeof error === 'object' && error !== null && 'type' in error && typeof error.type === 'string';
}

/** @param {unknown} err */
export function isAbort(err) {
  return err instanceof DOMException && err.name === 'AbortError';
}

/**
 * The X-RateLimit-* headers of an answer, or null when they are missing or not numbers.
 * @param {Response} res
 * @returns {RateLimit | null}
 */
export function readRateLimit(res) {
  const limit = Number(res.headers.get('X-RateLimit-Limit'));
  const remaining = Number(res.headers.get('X-RateLimit-Remaining'));
  const reset = Number(res.headers.get('X-RateLimit-Reset'));
  if (res.headers.has('X-RateLimit-Limit') && [limit, remaining, reset].every(Number.isFinite)) {
    return { limit, remaining, reset };
  }
  return null;
}
