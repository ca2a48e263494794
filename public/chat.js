// @ts-check
/**
 * Sending a message and streaming its answer from POST /api/chat, and explaining a refused request.
 */
import { isAbort, postJson, readError } from './api.js';
import { appendMessage, conversation, keepScrolled, markMessage, takeBack } from './conversation.js';
import { ui } from './dom.js';
import { clearNotice, isCountingDown, showNotice, startCountdown } from './notice.js';
import { page } from './page-state.js';
import { readEvents } from './sse.js';
import { readRateHeaders, refreshUsage, secondsUntilReset } from './usage.js';
import { sessionEnded } from './views.js';
import { offlineText, serverProblem } from './wording.js';

/** @import { UserTurn } from './conversation.js' */
/** @import { StreamEnd } from './sse.js' */

/** Sends what is in the composer, unless an answer is streaming or a countdown runs. */
export function send() {
  const text = ui.input.value.trim();
  if (text === '' || page.inFlight !== null || isCountingDown()) return;
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
  page.inFlight = controller;
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
    page.inFlight = null;
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
    startCountdown(what, error.retry_after ?? secondsUntilReset() ?? 10, () => void refreshUsage());
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
 * Swaps Send for Stop while an answer streams, keeping focus where the person was working.
 * @param {boolean} busy
 */
function setBusy(busy) {
  const hadFocus = document.activeElement;
  ui.stop.hidden = !busy;
  ui.send.disabled = busy || isCountingDown();
  if (busy && hadFocus === ui.send) ui.stop.focus();
  if (!busy && (hadFocus === ui.stop || hadFocus === document.body)) ui.input.focus();
}
