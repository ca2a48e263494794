import { StringDecoder } from 'node:string_decoder';
import { answerFacts } from './answer-facts';
import type { AnswerFacts } from './answer-facts';

/** One upstream event's data, and what it told us about the call. */
export interface SseEvent extends AnswerFacts {
  data: string;
}

const MAX_EVENT_CHARS = 1024 * 1024;

/**
 * Splits Perf's event stream into whole events, so that whatever we forward is always a
 * complete `data:` event and an error event can follow it cleanly. Only `data:` lines matter:
 * Perf sends no `event:` names, and comments or ids are dropped.
 */
export class SseSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';

  push(chunk: Buffer): SseEvent[] {
    this.buffer += this.decoder.write(chunk);
    if (this.buffer.length > MAX_EVENT_CHARS) throw new Error('upstream event too large');
    return this.drain();
  }

  /** Whatever is left when the upstream ends without a final blank line. */
  end(): SseEvent[] {
    this.buffer += `${this.decoder.end()}\n\n`;
    return this.drain();
  }

  private drain(): SseEvent[] {
    const events: SseEvent[] = [];
    this.buffer = this.buffer.replace(/\r\n?/g, '\n');
    let boundary = this.buffer.indexOf('\n\n');
    while (boundary !== -1) {
      const block = this.buffer.slice(0, boundary);
      this.buffer = this.buffer.slice(boundary + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
        .join('\n');
      if (data !== '') events.push(describe(data));
      boundary = this.buffer.indexOf('\n\n');
    }
    return events;
  }
}

function describe(data: string): SseEvent {
  if (data === '[DONE]' || !data.includes('"perf"') && !data.includes('"usage"')) return { data };
  try {
    return { data, ...answerFacts(JSON.parse(data)) };
  } catch {
    return { data };
  }
}

export function formatEvent(data: string): string {
  return `data: ${data.replace(/\n/g, '\ndata: ')}\n\n`;
}
