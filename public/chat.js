// @ts-check
/**
 * Sending a message and streaming its answer (through perf-bff-client.js), and explaining a
 * refused request.
 */
import { bff } from './bff.js';
import { appendMessage, conversation, keepScrolled, markMessage, takeBack } from './conversation.js';
import { ui } from './dom.js';
import { clearNotice, isCountingDown, showNotice, startCountdown } from './notice.js';
import { page } from './page-state.js';
import { PerfBffError } from './perf-bff-client.js';
import { refreshUsage, secondsUntilReset } from './usage.js';
import { passwordChangeRequired, sessionEnded } from './views.js';
import { offlineText, serverProblem } from './wording.js';

/** @import { UserTurn } from './conversation.js' */

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
  let opened = false;
  const retry = () => {
    reply.item.remove();
    void answer(turn);
  };
  try {
    const pieces = bff.stream({ messages: conversation }, { signal: controller.signal, onOpen: () => (opened = true) });
    for await (const piece of pieces) {
      text += piece;
      reply.text.appendData(piece);
      keepScrolled();
    }
    conversation.push({ role: 'assistant', content: text });
    reply.item.dataset.state = 'done';
  } catch (err) {
    if (!opened) {
      // Refused, or never reached the server: nothing was answered, the message goes back in the box.
      reply.item.remove();
      takeBack(turn);
      if (err instanceof PerfBffError) failed(err);
      else if (!controller.signal.aborted)
        showNotice(offlineText('Could not reach the server.') + ' Your message is back in the box.', send);
      return;
    }
    if (controller.signal.aborted) {
      // Stopped: what was shown is what the conversation remembers.
      if (text !== '') conversation.push({ role: 'assistant', content: text });
      markMessage(reply.item, text === '' ? 'Stopped before any text arrived.' : 'Stopped.');
      return;
    }
    markMessage(reply.item, 'The answer broke off.', 'error');
    if (err instanceof PerfBffError) showNotice(`The answer broke off: ${serverProblem(err)}`, retry, err.requestId);
    else showNotice(offlineText('The connection broke off during the answer.'), retry);
  } finally {
    ui.log.setAttribute('aria-busy', 'false');
    page.inFlight = null;
    setBusy(false);
    void refreshUsage();
  }
}

/**
 * Explains a refused request and offers what the person can do next.
 * @param {PerfBffError} error
 */
function failed(error) {
  if (error.status === 401) {
    sessionEnded();
    return;
  }
  if (error.type === 'password_change_required') {
    passwordChangeRequired();
    return;
  }
  if (error.status === 429 && (error.type === 'rate_limit_exceeded' || error.type === 'budget_exceeded')) {
    const what =
      error.type === 'budget_exceeded' ? 'Your spending budget is used up for now.' : 'You have sent as many messages as allowed for now.';
    startCountdown(what, error.retryAfter ?? secondsUntilReset() ?? 10, () => void refreshUsage());
    return;
  }
  if (error.status >= 500) {
    showNotice(`${serverProblem(error)} Your message is back in the box.`, send, error.requestId);
    return;
  }
  // 400, 403, 413, 415: the server's message says what was wrong with the request.
  showNotice(error.message !== '' ? error.message : `The request was refused (${error.status}).`);
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
