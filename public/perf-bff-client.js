// @ts-check
/**
 * perf-bff's browser client: one ES module with no dependencies, for any frontend to copy or
 * import. It talks to perf-bff with the user's session cookie (HttpOnly: this code never sees it)
 * and never with a Perf key.
 *
 *   import { PerfBffClient, PerfBffError } from './perf-bff-client.js';
 *
 *   const client = new PerfBffClient();            // the page is served by perf-bff itself
 *   // const client = new PerfBffClient({ baseUrl: 'https://api.example.com' }); // an ALLOWED_ORIGINS app
 *   const { user } = await client.signIn('alice', password);
 *   // Signed in with a one-time password: nothing else works until the person has chosen their own.
 *   if (user.must_change_password) await client.changePassword(oneTimePassword, chosenPassword);
 *   const answer = await client.chat({ message: 'Hello' });        // Perf's JSON answer
 *   for await (const text of client.stream({ messages }, { signal })) output.append(text);
 *
 * Failures are thrown as PerfBffError: `status` and `type` say what happened, `retryAfter` how many
 * seconds to wait (429, 503) and `requestId` what to quote. A stream that breaks off after its
 * first words throws one with `inStream: true`. Aborting `signal` stops the answer at once and the
 * server hangs up on Perf; the abort surfaces as the browser's own AbortError.
 */

/** @typedef {{ limit: number, remaining: number, reset: number }} RateLimit reset: Unix seconds */
/**
 * @typedef {object} User who is signed in (GET /auth/me)
 * @property {string} username
 * @property {string} [name] from the identity provider
 * @property {string} [email] from the identity provider
 * @property {true} [guest] a session without an account
 * @property {true} [must_change_password] signed in with a one-time password: until changePassword()
 *   has chosen one, every other call is refused (403 password_change_required)
 */
/** @typedef {{ type: string, message: string, request_id?: string, retry_after?: number }} ErrorDetail */
/**
 * @typedef {object} ChatBody POST /api/chat's body: `message` or `messages`, and options
 * @property {string} [message]
 * @property {{ role: 'system' | 'user' | 'assistant', content: string }[]} [messages]
 * @property {string} [model]
 * @property {number} [max_tokens]
 * @property {number} [temperature]
 * @property {number} [top_p]
 * @property {number} [max_cost_per_call]
 */
/**
 * @typedef {object} Usage GET /api/usage
 * @property {string} plan
 * @property {{ limit: number, remaining: number, reset: number }} rate_limit
 * @property {{ limit_usd: number | null, spent_usd: number, reserved_usd: number, remaining_usd: number | null, reset: number | null }} budget
 */
/**
 * @typedef {object} ClientOptions
 * @property {string} [baseUrl] where perf-bff answers; '' (the default) for the page's own origin
 * @property {typeof fetch} [fetch] a fetch of your own (tests, instrumentation)
 * @property {(rateLimit: RateLimit) => void} [onRateLimit] called with the X-RateLimit-* headers of every answer that has them
 */

/** The shortest new password the server accepts (POST /auth/password). */
export const MIN_PASSWORD_LENGTH = 8;

export class PerfBffError extends Error {
  /**
   * @param {number} status the HTTP status (200 for a stream that broke off after it began)
   * @param {ErrorDetail} detail the server's `error` object
   * @param {{ inStream?: boolean, rateLimit?: RateLimit | null }} [extra]
   */
  constructor(status, detail, extra = {}) {
    super(detail.message || `The request failed with status ${status}.`);
    this.name = 'PerfBffError';
    this.status = status;
    /** The contract's error type: unauthorized, rate_limit_exceeded, budget_exceeded, upstream_timeout, … */
    this.type = detail.type;
    /** @type {string | undefined} */
    this.requestId = detail.request_id;
    /** Seconds to wait before trying again, when the server said. @type {number | undefined} */
    this.retryAfter = detail.retry_after;
    /** True when the answer had begun streaming: what arrived before stays valid. */
    this.inStream = extra.inStream === true;
    /** @type {RateLimit | null} */
    this.rateLimit = extra.rateLimit ?? null;
  }
}

export class PerfBffClient {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    const ownFetch = options.fetch;
    // Called as a plain function, never as this.fetch(): a browser's window.fetch throws
    // "Illegal invocation" when called with any other `this`, so `{ fetch }` must work as given.
    /** @type {typeof fetch} */
    this.fetch = ownFetch === undefined ? (input, init) => globalThis.fetch(input, init) : (input, init) => ownFetch(input, init);
    this.onRateLimit = options.onRateLimit;
    // Another origin's cookie goes along only with "include" (and that origin's CORS consent).
    /** @type {RequestCredentials} */
    this.credentials = this.baseUrl === '' ? 'same-origin' : 'include';
  }

  /**
   * @param {string} username
   * @param {string} password
   * @returns {Promise<{ user: { username: string, must_change_password?: true } }>}
   */
  async signIn(username, password) {
    return /** @type {Promise<{ user: { username: string, must_change_password?: true } }>} */ (
      (await this.#send('POST', '/auth/login', { username, password })).json()
    );
  }

  /**
   * Chooses a new password (at least MIN_PASSWORD_LENGTH characters, not the current one), proving
   * the current one: required after a one-time password, open to every password user. The server
   * ends all the user's sessions and starts a new one here. Refusals: 400 invalid_request,
   * 401 invalid_credentials (the current password is wrong), 429 too_many_attempts (`retryAfter`),
   * 403 for a guest or someone from an identity provider, 503 service_unavailable.
   * @param {string} currentPassword
   * @param {string} newPassword
   * @returns {Promise<{ user: { username: string } }>}
   */
  async changePassword(currentPassword, newPassword) {
    return /** @type {Promise<{ user: { username: string } }>} */ (
      (await this.#send('POST', '/auth/password', { current_password: currentPassword, new_password: newPassword })).json()
    );
  }

  /**
   * Ends the session on the server; the cookie is cleared. Someone who signed in with an identity
   * provider gets that provider's logout URL, to end the session there too.
   * @returns {Promise<{ endSessionUrl?: string }>}
   */
  async signOut() {
    const res = await this.#send('POST', '/auth/logout');
    if (res.status !== 200) return {};
    const body = /** @type {{ end_session_url?: unknown }} */ (await res.json());
    return typeof body.end_session_url === 'string' ? { endSessionUrl: body.end_session_url } : {};
  }

  /**
   * A session without an account, on the operator's guest plan (when the server offers one).
   * @returns {Promise<{ user: { username: string, guest: true } }>}
   */
  async guest() {
    return /** @type {Promise<{ user: { username: string, guest: true } }>} */ ((await this.#send('POST', '/auth/guest')).json());
  }

  /**
   * How people can sign in here: a password, an identity provider (`login_url` is a page to go
   * to), trying without an account (`guest`), or several of these.
   * @returns {Promise<{ password: boolean, guest: boolean, oidc: { name: string, login_url: string } | null }>}
   */
  async methods() {
    return /** @type {any} */ (await (await this.#send('GET', '/auth/methods')).json());
  }

  /**
   * The signed-in user and when the session ends, or null when nobody is signed in.
   * @returns {Promise<{ user: User, session: { expires_at: string } } | null>}
   */
  async me() {
    try {
      return /** @type {any} */ (await (await this.#send('GET', '/auth/me')).json());
    } catch (err) {
      if (err instanceof PerfBffError && err.status === 401) return null;
      throw err;
    }
  }

  /** @returns {Promise<Usage>} */
  async usage() {
    return /** @type {Promise<Usage>} */ ((await this.#send('GET', '/api/usage')).json());
  }

  /**
   * One answer, whole: Perf's chat.completion JSON (`choices[0].message.content`, `perf.cost_usd`).
   * @param {ChatBody} body
   * @param {{ signal?: AbortSignal }} [options]
   * @returns {Promise<any>}
   */
  async chat(body, options = {}) {
    return (await this.#send('POST', '/api/chat', { ...body, stream: false }, options.signal)).json();
  }

  /**
   * The answer as it is written: yields each piece of text. Ends normally after `data: [DONE]`.
   * `onOpen` runs once the answer has begun (a refusal is thrown before it ever runs).
   * @param {ChatBody} body
   * @param {{ signal?: AbortSignal, onOpen?: () => void }} [options]
   * @returns {AsyncGenerator<string, void, void>}
   */
  async *stream(body, options = {}) {
    const res = await this.#send('POST', '/api/chat', { ...body, stream: true }, options.signal);
    options.onOpen?.();
    if (res.body === null) throw new PerfBffError(200, { type: 'upstream_error', message: 'The answer was empty.' }, { inStream: true });
    for await (const data of sseData(res.body)) {
      if (data === '[DONE]') return;
      const event = parseJson(data);
      if (isErrorBody(event)) throw new PerfBffError(200, event.error, { inStream: true });
      const text = deltaText(event);
      if (text !== '') yield text;
    }
    throw new PerfBffError(200, { type: 'upstream_error', message: 'The answer ended early.' }, { inStream: true });
  }

  /**
   * @param {'GET' | 'POST'} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {AbortSignal} [signal]
   * @returns {Promise<Response>} an ok response; anything else is thrown as PerfBffError
   */
  async #send(method, path, body, signal) {
    /** @type {RequestInit} */
    const init = { method, credentials: this.credentials, cache: 'no-store' };
    if (body !== undefined) {
      init.headers = { 'Content-Type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    if (signal !== undefined) init.signal = signal;
    const res = await this.fetch(`${this.baseUrl}${path}`, init);
    const rateLimit = readRateLimit(res);
    if (rateLimit !== null) this.onRateLimit?.(rateLimit);
    if (res.ok) return res;
    throw new PerfBffError(res.status, await readErrorDetail(res), { rateLimit });
  }
}

/**
 * The `data` of each server-sent event in a body, as the SSE spec splits them: lines end in CRLF,
 * LF or CR (a CR at a chunk's end may be half of a CRLF), a blank line ends an event (one left
 * unfinished when the body ends is dropped), lines
 * starting with ':' are comments (keep-alives), and fields other than `data` are ignored.
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<string, void, void>}
 */
export async function* sseData(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const lineEnd = /\r\n|\r|\n/g;
  let buffer = '';
  /** @type {string[]} */
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let from = 0;
      lineEnd.lastIndex = 0;
      for (let end = lineEnd.exec(buffer); end !== null; end = lineEnd.exec(buffer)) {
        if (!done && end[0] === '\r' && end.index === buffer.length - 1) break;
        const line = buffer.slice(from, end.index);
        from = lineEnd.lastIndex;
        if (line === '') {
          if (data.length > 0) yield data.join('\n');
          data = [];
        } else if (line === 'data') {
          // A field name alone has an empty value.
          data.push('');
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
      }
      buffer = buffer.slice(from);
      // As the spec says, an event the body ends in the middle of is not dispatched.
      if (done) return;
    }
  } finally {
    // Leaving early ([DONE], an error event, a break in the caller's loop) closes the connection.
    reader.cancel().catch(() => undefined);
  }
}

/**
 * The X-RateLimit-* headers of an answer, or null when they are missing or not numbers.
 * @param {Response} res
 * @returns {RateLimit | null}
 */
export function readRateLimit(res) {
  /** @param {string} name a missing or empty header is NaN (Number() would make it 0) */
  const read = (name) => {
    const value = res.headers.get(name)?.trim() ?? '';
    return value === '' ? NaN : Number(value);
  };
  const limit = read('X-RateLimit-Limit');
  const remaining = read('X-RateLimit-Remaining');
  const reset = read('X-RateLimit-Reset');
  return [limit, remaining, reset].every(Number.isFinite) ? { limit, remaining, reset } : null;
}

/**
 * The server's `{"error": {...}}`, or a generic one for that status (a proxy's HTML page, say).
 * @param {Response} res
 * @returns {Promise<ErrorDetail>}
 */
async function readErrorDetail(res) {
  /** @type {ErrorDetail} */
  let detail = { type: res.status >= 500 ? 'service_unavailable' : 'http_error', message: '' };
  try {
    const body = /** @type {unknown} */ (await res.json());
    if (isErrorBody(body)) detail = body.error;
  } catch {
    // Not JSON: the status alone has to do.
  }
  const header = Number(res.headers.get('Retry-After'));
  if (detail.retry_after === undefined && Number.isFinite(header) && header > 0) detail = { ...detail, retry_after: header };
  return detail;
}

/**
 * @param {unknown} value
 * @returns {value is { error: ErrorDetail }}
 */
export function isErrorBody(value) {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = value.error;
  return typeof error === 'object' && error !== null && 'type' in error && typeof error.type === 'string';
}

/** @param {string} text */
function parseJson(text) {
  try {
    return /** @type {unknown} */ (JSON.parse(text));
  } catch {
    return undefined;
  }
}

/**
 * `choices[0].delta.content` of a chat.completion.chunk, or '' when there is none.
 * @param {unknown} event
 * @returns {string}
 */
function deltaText(event) {
  const chunk = /** @type {{ choices?: { delta?: { content?: unknown } }[] } | undefined} */ (event);
  const content = Array.isArray(chunk?.choices) ? chunk.choices[0]?.delta?.content : undefined;
  return typeof content === 'string' ? content : '';
}
