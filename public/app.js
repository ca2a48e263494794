// @ts-check
/**
 * The chat page: sign in, talk, sign out. No framework and no build step; type-checked by
 * `npm run typecheck` through public/tsconfig.json.
 *
 * Rules this file keeps (see docs/chat-page.md):
 * - Text from the model or the server is only ever set with textContent / text nodes, never as HTML.
 * - The conversation lives in this page only (the `conversation` array); the server stores no prompts.
 * - Every request goes to our own origin; the session cookie is HttpOnly and never touched here.
 */

/** @typedef {{ role: 'user' | 'assistant', content: string }} ChatMessage */
/** @typedef {{ type: string, message: string, request_id?: string, retry_after?: number }} ApiError */
/** @typedef {{ limit: number, remaining: number, reset: number }} RateLimit */
/** @typedef {{ limit_usd: number | null, spent_usd: number, reserved_usd: number, remaining_usd: number | null, reset: number }} Budget */
/** @typedef {{ text: string, item: HTMLLIElement }} UserTurn */
/** @typedef {{ kind: 'done' } | { kind: 'error', error: ApiError }} StreamEnd */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{ new (): T }} type
 * @returns {T}
 */
function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`The page is missing #${id}`);
  return node;
}

const ui = {
  loading: byId('loading', HTMLElement),
  status: byId('status', HTMLElement),
  account: byId('account', HTMLElement),
  accountName: byId('account-name', HTMLElement),
  signOut: byId('sign-out', HTMLButtonElement),
  connection: byId('connection', HTMLElement),
  signIn: byId('sign-in', HTMLElement),
  signInReason: byId('sign-in-reason', HTMLElement),
  signInForm: byId('sign-in-form', HTMLFormElement),
  username: byId('username', HTMLInputElement),
  password: byId('password', HTMLInputElement),
  signInError: byId('sign-in-error', HTMLElement),
  signInButton: byId('sign-in-button', HTMLButtonElement),
  chat: byId('chat', HTMLElement),
  empty: byId('empty', HTMLElement),
  log: byId('log', HTMLOListElement),
  notice: byId('notice', HTMLElement),
  noticeText: byId('notice-text', HTMLElement),
  countdown: byId('countdown', HTMLElement),
  retry: byId('retry', HTMLButtonElement),
  composer: byId('composer', HTMLFormElement),
  input: byId('composer-input', HTMLTextAreaElement),
  stop: byId('stop', HTMLButtonElement),
  send: byId('send', HTMLButtonElement),
};

/** The whole conversation, sent with every request: the page is its only keeper. */
/** @type {ChatMessage[]} */
const conversation = [];
/** @type {AbortController | null} */
let inFlight = null;
/** @type {(() => void) | null} */
let retryAction = null;
/** @type {number | undefined} */
let countdownTimer;
/** @type {RateLimit | null} */
let rate = null;
/** @type {Budget | null} */
let budget = null;
/** False while the sign-in form shows: late answers to old requests must not act on the page. */
let signedIn = false;

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });

// ---------------------------------------------------------------- requests

/**
 * @param {string} path
 * @param {RequestInit} [init]
 */
function request(path, init = {}) {
  // Same origin only: the session cookie goes along, nothing goes anywhere else.
  return fetch(path, { credentials: 'same-origin', cache: 'no-store', ...init });
}

/**
 * @param {string} path
 * @param {unknown} body
 * @param {AbortSignal} [signal]
 */
function postJson(path, body, signal) {
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
async function readError(res) {
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
function isErrorBody(value) {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = value.error;
  return typeof error === 'object' && error !== null && 'type' in error && typeof error.type === 'string';
}

/** @param {unknown} err */
function isAbort(err) {
  return err instanceof DOMException && err.name === 'AbortError';
}

// ---------------------------------------------------------------- screens

/** @param {string} username */
function showChat(username) {
  signedIn = true;
  ui.loading.hidden = true;
  ui.signIn.hidden = true;
  ui.chat.hidden = false;
  ui.account.hidden = false;
  ui.status.hidden = false;
  ui.accountName.textContent = `Signed in as ${username}`;
  ui.username.value = username;
  ui.password.value = '';
  ui.signInError.textContent = '';
  updateEmpty();
  ui.input.focus();
  void refreshUsage();
}

/**
 * @param {string} [reason] said above the form (why the person is here again)
 */
function showSignIn(reason) {
  signedIn = false;
  ui.loading.hidden = true;
  ui.chat.hidden = true;
  ui.account.hidden = true;
  ui.status.hidden = true;
  ui.signIn.hidden = false;
  ui.signInReason.hidden = reason === undefined;
  ui.signInReason.textContent = reason ?? '';
  ui.signInButton.disabled = false;
  ui.signInButton.textContent = 'Sign in';
  (ui.username.value === '' ? ui.username : ui.password).focus();
}

/** The session is gone (expired, signed out elsewhere): sign in again, keeping what was typed. */
function sessionEnded() {
  if (!signedIn) return;
  inFlight?.abort();
  clearNotice();
  showSignIn('Your session has ended. Sign in again to continue; your conversation and the text you typed are kept.');
}

// ---------------------------------------------------------------- sign in and out

ui.signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void signIn();
});

async function signIn() {
  const username = ui.username.value.trim();
  const password = ui.password.value;
  if (username === '' || password === '') {
    ui.signInError.textContent = 'Enter your username and password.';
    (username === '' ? ui.username : ui.password).focus();
    return;
  }
  ui.signInError.textContent = '';
  ui.signInButton.disabled = true;
  ui.signInButton.textContent = 'Signing in…';
  try {
    const res = await postJson('/auth/login', { username, password });
    if (res.ok) {
      const body = /** @type {{ user: { username: string } }} */ (await res.json());
      showChat(body.user.username);
      return;
    }
    const error = await readError(res);
    if (res.status === 401) {
      ui.signInError.textContent = 'Wrong username or password.';
      ui.password.select();
      ui.password.focus();
    } else if (res.status === 429) {
      ui.signInError.textContent = `Too many sign-in attempts. Try again in ${duration(error.retry_after ?? 60)}.`;
    } else {
      ui.signInError.textContent = 'Signing in is not possible right now. Try again in a moment.';
    }
  } catch {
    ui.signInError.textContent = offlineText('Could not reach the server to sign in.');
  } finally {
    ui.signInButton.disabled = false;
    ui.signInButton.textContent = 'Sign in';
  }
}

ui.signOut.addEventListener('click', () => {
  void signOut();
});

async function signOut() {
  // From here on, late answers (a usage refresh, the aborted stream) must not act on the page.
  signedIn = false;
  inFlight?.abort();
  ui.signOut.disabled = true;
  try {
    const res = await request('/auth/logout', { method: 'POST' });
    if (!res.ok && res.status !== 401) {
      signedIn = true;
      showNotice('Signing out did not work. Try again in a moment.');
      return;
    }
  } catch {
    signedIn = true;
    showNotice(offlineText('Could not reach the server to sign out.'));
    return;
  } finally {
    ui.signOut.disabled = false;
  }
  // Nothing of the conversation outlives the session in this page.
  conversation.length = 0;
  ui.log.replaceChildren();
  ui.input.value = '';
  ui.password.value = '';
  rate = null;
  budget = null;
  renderStatus();
  stopCountdown();
  clearNotice();
  showSignIn('You have signed out.');
}

// ---------------------------------------------------------------- composer

ui.input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  } else if (event.key === 'Escape' && inFlight !== null) {
    inFlight.abort();
  }
});

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});

ui.stop.addEventListener('click', () => {
  inFlight?.abort();
});

ui.retry.addEventListener('click', () => {
  const action = retryAction;
  clearNotice();
  ui.input.focus();
  action?.();
});

function send() {
  const text = ui.input.value.trim();
  if (text === '' || inFlight !== null || countdownTimer !== undefined) return;
  if (!navigator.onLine) {
    showNotice('You are offline. Your message is kept here; send it when the connection is back.');
    return;
  }
  ui.input.value = '';
  conversation.push({ role: 'user', content: text });
  const item = appendMessage('user', text).item;
  void answer({ text, item });
}

/**
 * Asks for the answer to the conversation so far and streams it into a new message.
 * @param {UserTurn} turn the user's message this answers (taken back if nothing was answered)
 */
async function answer(turn) {
  clearNotice();
  const controller = new AbortController();
  inFlight = controller;
  setBusy(true);
  const reply = appendMessage('assistant', '');
  ui.log.setAttribute('aria-busy', 'true');
  let text = '';
  try {
    /** @type {Response} */
    let res;
    try {
      res = await postJson('/api/chat', { messages: conversation, stream: true }, controller.signal);
    } catch (err) {
      reply.item.remove();
      takeBack(turn);
      if (isAbort(err)) return;
      showNotice(offlineText('Could not reach the server.') + ' Your message is back in the box.', send);
      return;
    }
    readRateHeaders(res);
    if (!res.ok) {
      reply.item.remove();
      takeBack(turn);
      await failed(res);
      return;
    }
    /** @type {StreamEnd} */
    let end;
    try {
      end = await readEvents(res, (piece) => {
        text += piece;
        reply.text.appendData(piece);
        keepScrolled();
      });
    } catch (err) {
      if (!isAbort(err) && !controller.signal.aborted) throw err;
      // Stopped: what was shown is what the conversation remembers.
      if (text !== '') conversation.push({ role: 'assistant', content: text });
      markMessage(reply.item, text === '' ? 'Stopped before any text arrived.' : 'Stopped.');
      return;
    }
    if (end.kind === 'done') {
      conversation.push({ role: 'assistant', content: text });
      reply.item.dataset.state = 'done';
      return;
    }
    markMessage(reply.item, 'The answer broke off.', 'error');
    showNotice(`The answer broke off: ${serverProblem(end.error)}`, () => {
      reply.item.remove();
      void answer(turn);
    }, end.error.request_id);
  } catch (err) {
    // The connection dropped in the middle of the answer.
    if (controller.signal.aborted) return;
    markMessage(reply.item, 'The answer broke off.', 'error');
    showNotice(offlineText('The connection broke off during the answer.'), () => {
      reply.item.remove();
      void answer(turn);
    });
    if (!(err instanceof TypeError)) throw err;
  } finally {
    ui.log.setAttribute('aria-busy', 'false');
    inFlight = null;
    setBusy(false);
    void refreshUsage();
  }
}

/**
 * Explains a refused request and offers what the person can do next.
 * @param {Response} res
 */
async function failed(res) {
  const error = await readError(res);
  if (res.status === 401) {
    sessionEnded();
    return;
  }
  if (res.status === 429 && (error.type === 'rate_limit_exceeded' || error.type === 'budget_exceeded')) {
    const what = error.type === 'budget_exceeded'
      ? 'Your spending budget is used up for now.'
      : 'You have sent as many messages as allowed for now.';
    startCountdown(what, error.retry_after ?? secondsUntil(rate?.reset) ?? 10);
    return;
  }
  if (res.status >= 500) {
    showNotice(`${serverProblem(error)} Your message is back in the box.`, send, error.request_id);
    return;
  }
  // 400, 403, 413, 415: the server's message says what was wrong with the request.
  showNotice(error.message !== '' ? error.message : `The request was refused (${res.status}).`);
}

/**
 * Puts an unanswered message back into the composer so nothing typed is lost.
 * @param {UserTurn} turn
 */
function takeBack(turn) {
  const last = conversation[conversation.length - 1];
  if (last !== undefined && last.role === 'user' && last.content === turn.text) conversation.pop();
  turn.item.remove();
  const draft = ui.input.value.trim();
  ui.input.value = draft === '' ? turn.text : `${turn.text}\n\n${draft}`;
  updateEmpty();
}

/** @param {ApiError} error */
function serverProblem(error) {
  switch (error.type) {
    case 'upstream_timeout':
      return 'The model took too long to answer.';
    case 'upstream_rate_limited':
      return `The model service is busy. Try again${error.retry_after === undefined ? ' shortly' : ` in ${duration(error.retry_after)}`}.`;
    case 'upstream_error':
    case 'upstream_unavailable':
    case 'upstream_auth_failed':
      return 'The model service could not answer.';
    case 'service_unavailable':
      return 'The service is temporarily unavailable.';
    default:
      return 'Something went wrong on the server.';
  }
}

// ---------------------------------------------------------------- streaming

/**
 * Reads the SSE relay of POST /api/chat: `data: {chunk}` events, then `data: [DONE]`; a failure
 * after the first byte arrives as a final `data: {"error": {...}}` event.
 * @param {Response} res
 * @param {(text: string) => void} onText
 * @returns {Promise<StreamEnd>}
 */
async function readEvents(res, onText) {
  if (res.body === null) return { kind: 'error', error: { type: 'upstream_error', message: 'Empty answer.' } };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const boundary = /\r\n\r\n|\n\n|\r\r/;
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (let match = boundary.exec(buffer); match !== null; match = boundary.exec(buffer)) {
        const block = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        const end = handleEvent(block, onText);
        if (end !== null) return end;
      }
      if (done) {
        const end = buffer.trim() === '' ? null : handleEvent(buffer, onText);
        return end ?? { kind: 'error', error: { type: 'upstream_error', message: 'The answer ended early.' } };
      }
    }
  } finally {
    // Returning early (error event, [DONE]) must not leave the connection open.
    reader.cancel().catch(() => undefined);
  }
}

/**
 * @param {string} block one SSE event
 * @param {(text: string) => void} onText
 * @returns {StreamEnd | null} null while the stream goes on
 */
function handleEvent(block, onText) {
  const data = block
    .split(/\r\n|\n|\r/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
    .join('\n');
  if (data === '') return null;
  if (data === '[DONE]') return { kind: 'done' };
  /** @type {unknown} */
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return null;
  }
  if (isErrorBody(event)) return { kind: 'error', error: event.error };
  const piece = deltaText(event);
  if (piece !== '') onText(piece);
  return null;
}

/**
 * `choices[0].delta.content` of a chat.completion.chunk, or '' when there is none.
 * @param {unknown} event
 * @returns {string}
 */
function deltaText(event) {
  const chunk = /** @type {{ choices?: { delta?: { content?: unknown } }[] }} */ (event);
  const content = Array.isArray(chunk.choices) ? chunk.choices[0]?.delta?.content : undefined;
  return typeof content === 'string' ? content : '';
}

// ---------------------------------------------------------------- conversation view

/**
 * @param {'user' | 'assistant'} role
 * @param {string} content
 * @returns {{ item: HTMLLIElement, text: Text }}
 */
function appendMessage(role, content) {
  const item = document.createElement('li');
  item.className = `message message-${role}`;
  const who = document.createElement('p');
  who.className = 'message-role';
  who.textContent = role === 'user' ? 'You' : 'Assistant';
  const body = document.createElement('div');
  body.className = 'message-text';
  // A text node: whatever the model writes (tags included) is shown as characters, never parsed.
  const text = document.createTextNode(content);
  body.append(text);
  item.append(who, body);
  ui.log.append(item);
  updateEmpty();
  keepScrolled(true);
  return { item, text };
}

/**
 * @param {HTMLLIElement} item
 * @param {string} note
 * @param {'stopped' | 'error'} [state]
 */
function markMessage(item, note, state = 'stopped') {
  item.dataset.state = state;
  const meta = document.createElement('p');
  meta.className = 'message-meta';
  meta.textContent = note;
  item.append(meta);
}

function updateEmpty() {
  ui.empty.hidden = ui.log.childElementCount > 0;
}

/** Follows the answer as it grows, unless the reader has scrolled up to read something else. */
function keepScrolled(force = false) {
  const scroller = document.scrollingElement ?? document.documentElement;
  const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  if (force || nearBottom) scroller.scrollTop = scroller.scrollHeight;
}

/** @param {boolean} busy */
function setBusy(busy) {
  const hadFocus = document.activeElement;
  ui.stop.hidden = !busy;
  ui.send.disabled = busy || countdownTimer !== undefined;
  if (busy && hadFocus === ui.send) ui.stop.focus();
  if (!busy && (hadFocus === ui.stop || hadFocus === document.body)) ui.input.focus();
}

// ---------------------------------------------------------------- notices and countdown

/**
 * @param {string} text
 * @param {(() => void) | null} [retry] shows a Retry button that runs this
 * @param {string} [requestId] quoted so a person can report the problem
 */
function showNotice(text, retry = null, requestId) {
  ui.notice.hidden = false;
  ui.notice.dataset.kind = retry === null ? 'info' : 'error';
  ui.noticeText.textContent = requestId === undefined ? text : `${text} (Reference: ${requestId})`;
  ui.countdown.hidden = true;
  retryAction = retry;
  ui.retry.hidden = retry === null;
}

function clearNotice() {
  if (countdownTimer !== undefined) return;
  ui.notice.hidden = true;
  ui.noticeText.textContent = '';
  retryAction = null;
  ui.retry.hidden = true;
}

/**
 * Pauses sending until the server's retry_after has passed, counting down visibly.
 * @param {string} what
 * @param {number} seconds
 */
function startCountdown(what, seconds) {
  stopCountdown();
  const until = Date.now() + Math.max(1, Math.ceil(seconds)) * 1000;
  showNotice(`${what} You can send again when the countdown ends.`);
  ui.notice.dataset.kind = 'wait';
  ui.countdown.hidden = false;
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      stopCountdown();
      showNotice('You can send again.');
      void refreshUsage();
      return;
    }
    ui.countdown.textContent = `${duration(left)} left`;
    ui.send.textContent = `Wait ${left} s`;
  };
  countdownTimer = window.setInterval(tick, 250);
  ui.send.disabled = true;
  tick();
}

function stopCountdown() {
  if (countdownTimer === undefined) return;
  window.clearInterval(countdownTimer);
  countdownTimer = undefined;
  ui.countdown.hidden = true;
  ui.countdown.textContent = '';
  ui.send.textContent = 'Send';
  ui.send.disabled = inFlight !== null;
}

/** @param {number} seconds */
function duration(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** @param {number | undefined} unixSeconds */
function secondsUntil(unixSeconds) {
  if (unixSeconds === undefined) return undefined;
  const left = Math.ceil(unixSeconds - Date.now() / 1000);
  return left > 0 ? left : undefined;
}

/** @param {string} reachFailure what failed while the browser says it is online */
function offlineText(reachFailure) {
  return navigator.onLine ? `${reachFailure} Check your connection and try again.` : 'You are offline. Nothing can be sent until the connection is back.';
}

function renderConnection() {
  ui.connection.hidden = navigator.onLine;
  ui.connection.textContent = navigator.onLine ? '' : 'You are offline. Nothing can be sent until the connection is back.';
}

window.addEventListener('online', renderConnection);
window.addEventListener('offline', renderConnection);

// ---------------------------------------------------------------- usage status line

/** @param {Response} res */
function readRateHeaders(res) {
  const limit = Number(res.headers.get('X-RateLimit-Limit'));
  const remaining = Number(res.headers.get('X-RateLimit-Remaining'));
  const reset = Number(res.headers.get('X-RateLimit-Reset'));
  if (res.headers.has('X-RateLimit-Limit') && [limit, remaining, reset].every(Number.isFinite)) {
    rate = { limit, remaining, reset };
    renderStatus();
  }
}

async function refreshUsage() {
  if (!signedIn) return;
  try {
    const res = await request('/api/usage');
    if (res.status === 401) {
      sessionEnded();
      return;
    }
    if (!res.ok || !signedIn) return;
    const usage = /** @type {{ rate_limit: RateLimit, budget: Budget }} */ (await res.json());
    rate = usage.rate_limit;
    budget = usage.budget;
    renderStatus();
  } catch {
    // The status line is a courtesy: a failed refresh keeps the last known numbers.
  }
}

function renderStatus() {
  /** @type {string[]} */
  const parts = [];
  if (rate !== null) {
    const at = new Date(rate.reset * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    parts.push(rate.remaining > 0 ? `${rate.remaining} of ${rate.limit} requests left` : `No requests left until ${at}`);
  }
  if (budget !== null) {
    parts.push(budget.limit_usd === null || budget.remaining_usd === null
      ? 'no spending limit'
      : `${money.format(budget.remaining_usd)} of ${money.format(budget.limit_usd)} budget left`);
  }
  ui.status.textContent = parts.join(' · ');
}

// ---------------------------------------------------------------- start

async function boot() {
  renderConnection();
  try {
    const res = await request('/auth/me');
    if (res.ok) {
      const me = /** @type {{ user: { username: string } }} */ (await res.json());
      showChat(me.user.username);
      return;
    }
    showSignIn();
  } catch {
    showSignIn();
    ui.signInError.textContent = offlineText('Could not reach the server.');
  }
}

void boot();
