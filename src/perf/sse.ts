import { createParser } from 'eventsource-parser';
import { answerFacts } from './answer-facts';
import type { AnswerFacts } from './answer-facts';

/** One upstream event's data, and what it told us about the call. */
export interface SseEvent extends AnswerFacts {
  data: string;
}

/** A single event (or an unterminated line) larger than this ends the stream. */
const MAX_EVENT_CHARS = 1024 * 1024;

/**
 * Reads Perf's event stream into whole events with eventsource-parser, so that whatever we
 * forward is always a complete `data:` event and an error event can follow it cleanly. Only the
 * data matters: Perf sends no event names, and comments, ids and retry fields are dropped.
 */
export class SseReader {
  private readonly decoder = new TextDecoder();
  private events: SseEvent[] = [];
  private tooLarge = false;
  private readonly parser = createParser({
    maxBufferSize: MAX_EVENT_CHARS,
    onEvent: (event) => this.events.push(describe(event.data)),
    onError: (err) => {
      if (err.type === 'max-buffer-size-exceeded') this.tooLarge = true;
    },
  });

  push(chunk: Uint8Array): SseEvent[] {
    this.feed(this.decoder.decode(chunk, { stream: true }));
    return this.take();
  }

  /** The upstream ended: an event it left without its final blank line still counts. */
  end(): SseEvent[] {
    this.feed(`${this.decoder.decode()}\n\n`);
    return this.take();
  }

  private feed(text: string): void {
    if (!this.tooLarge) this.parser.feed(text);
    if (this.tooLarge) throw new Error('upstream event too large');
  }

  private take(): SseEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }
}

function describe(data: string): SseEvent {
  if (data === '[DONE]') return { data };
  try {
    return { data, ...answerFacts(JSON.parse(data)) };
  } catch {
    return { data };
  }
}

export function formatEvent(data: string): string {
  return `data: ${data.replace(/\n/g, '\ndata: ')}\n\n`;
}
