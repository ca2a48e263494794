// @ts-check
/**
 * Reads the SSE relay of POST /api/chat with a ReadableStream reader (EventSource cannot POST).
 */
import { isErrorBody } from './api.js';

/** @import { ApiError } from './api.js' */
/** @typedef {{ kind: 'done' } | { kind: 'error', error: ApiError }} StreamEnd */

/**
 * Reads the SSE relay of POST /api/chat: `data: {chunk}` events, then `data: [DONE]`; a failure
 * after the first byte arrives as a final `data: {"error": {...}}` event.
 * @param {Response} res
 * @param {(text: string) => void} onText
 * @returns {Promise<StreamEnd>}
 */
export async function readEvents(res, onText) {
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
