// @ts-check
/**
 * The conversation: the messages sent with every request, and the log that shows them. The page
 * is their only keeper; the server stores no prompts.
 */
import { ui } from './dom.js';

/** @typedef {{ role: 'user' | 'assistant', content: string }} ChatMessage */
/** @typedef {{ text: string, item: HTMLLIElement }} UserTurn */

/** The whole conversation, sent with every request. */
/** @type {ChatMessage[]} */
export const conversation = [];

/**
 * @param {'user' | 'assistant'} role
 * @param {string} content
 * @returns {{ item: HTMLLIElement, text: Text }}
 */
export function appendMessage(role, content) {
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
  ui.messages.append(item);
  updateEmpty();
  keepScrolled(true);
  return { item, text };
}

/**
 * @param {HTMLLIElement} item
 * @param {string} note
 * @param {'stopped' | 'error'} [state]
 */
export function markMessage(item, note, state = 'stopped') {
  item.dataset.state = state;
  const meta = document.createElement('p');
  meta.className = 'message-meta';
  meta.textContent = note;
  item.append(meta);
}

/**
 * Puts an unanswered message back into the composer so nothing typed is lost.
 * @param {UserTurn} turn
 */
export function takeBack(turn) {
  const last = conversation[conversation.length - 1];
  if (last !== undefined && last.role === 'user' && last.content === turn.text) conversation.pop();
  turn.item.remove();
  const draft = ui.input.value.trim();
  ui.input.value = draft === '' ? turn.text : `${turn.text}\n\n${draft}`;
  updateEmpty();
}

/** Drops every message, remembered and shown: nothing of the conversation outlives the session. */
export function forgetConversation() {
  conversation.length = 0;
  ui.messages.replaceChildren();
}

export function updateEmpty() {
  ui.empty.hidden = ui.messages.childElementCount > 0;
}

/** Follows the answer as it grows, unless the reader has scrolled up to read something else. */
export function keepScrolled(force = false) {
  const scroller = document.scrollingElement ?? document.documentElement;
  const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  if (force || nearBottom) scroller.scrollTop = scroller.scrollHeight;
}
