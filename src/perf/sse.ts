import { StringDecoder } from 'node:string_decoder';

/** One upstream event's data, and what it told us about the call. */
export interface SseEvent {
  data: string;
  costUsd?: number;
  modelUsed?: string;
  totalTokens?: number;
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
    const parsed = JSON.parse(data) as { perf?: { cost_usd?: unknown; model_used?: unknown }; usage?: { total_tokens?: unknown } };
    const event: SseEvent = { data };
    const cost = parsed.perf?.cost_usd;
    if (typeof cost === 'number' && Number.isFinite(cost) && cost >= 0) event.costUsd = cost;
    if (typeof parsed.perf?.model_used === 'string') event.modelUsed = parsed.perf.model_used;
    if (typeof parsed.usage?.total_tokens === 'number') event.totalTokens = parsed.usage.total_tokens;
    return event;
  } catch {
    return { data };
  }
}

export function formatEvent(data: string): string {
  return `data: ${data.replace(/\n/g, '\ndata: ')}\n\n`;
}
