// @ts-check
/**
 * The notice above the composer (with its Retry button), the countdown that pauses sending after
 * a 429, and the offline banner.
 *
 * The notice's text (role="alert") and the offline banner (role="status") are live regions: they
 * stay rendered, empty and invisible while idle, and only their text changes. A region that
 * appears in the same tick as its text is not announced. The alert holds text only; Retry and the
 * countdown sit beside it (an alert must not contain controls).
 */
import { ui } from './dom.js';
import { page } from './page-state.js';
import { duration } from './wording.js';

/** @type {(() => void) | null} */
let retryAction = null;
/** @type {number | undefined} */
let countdownTimer;

/**
 * @param {string} text
 * @param {(() => void) | null} [retry] shows a Retry button that runs this
 * @param {string} [requestId] quoted so a person can report the problem
 */
export function showNotice(text, retry = null, requestId) {
  ui.notice.dataset.kind = retry === null ? 'info' : 'error';
  ui.noticeText.textContent = requestId === undefined ? text : `${text} (Reference: ${requestId})`;
  ui.countdown.hidden = true;
  retryAction = retry;
  ui.retry.hidden = retry === null;
}

/** Empties the notice (its alert stays rendered), unless a countdown runs: that one stays until it ends. */
export function clearNotice() {
  if (countdownTimer !== undefined) return;
  delete ui.notice.dataset.kind;
  ui.noticeText.textContent = '';
  retryAction = null;
  ui.retry.hidden = true;
}

/** The Retry button: clears the notice first, since the action may show a new one. */
export function runRetry() {
  const action = retryAction;
  clearNotice();
  ui.input.focus();
  action?.();
}

/** True while sending is paused by a countdown. */
export function isCountingDown() {
  return countdownTimer !== undefined;
}

/**
 * Pauses sending until the server's retry_after has passed, counting down visibly in the timer
 * (aria-live="off": a screen reader reads it when asked, it does not talk every second). Send
 * keeps its name and is only disabled: a name that changes each second is announced each time.
 * @param {string} what
 * @param {number} seconds
 * @param {() => void} onEnd runs once sending is possible again
 */
export function startCountdown(what, seconds, onEnd) {
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
      onEnd();
      return;
    }
    const text = `${duration(left)} left`;
    // The tick is 4 times a second, for an even countdown; the text changes once a second at most.
    if (ui.countdown.textContent !== text) ui.countdown.textContent = text;
  };
  countdownTimer = window.setInterval(tick, 250);
  ui.send.disabled = true;
  tick();
}

export function stopCountdown() {
  if (countdownTimer === undefined) return;
  window.clearInterval(countdownTimer);
  countdownTimer = undefined;
  ui.countdown.hidden = true;
  ui.countdown.textContent = '';
  ui.send.disabled = page.inFlight !== null;
}

/** The banner under the top bar, shown (by having text) while the browser says it is offline. */
export function renderConnection() {
  const text = navigator.onLine ? '' : 'You are offline. Nothing can be sent until the connection is back.';
  if (ui.connection.textContent !== text) ui.connection.textContent = text;
}
