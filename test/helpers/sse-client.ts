import { request } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';

export interface StreamEvent {
  data: string;
  at: number;
}

export interface OpenStream {
  res: IncomingMessage;
  req: ClientRequest;
  events: StreamEvent[];
  /** Arrival times of SSE comments (`: keep-alive` heartbeats): not events. */
  heartbeats: number[];
  /** Resolves with the raw body once the stream ends (or the socket closes). */
  done: Promise<string>;
  startedAt: number;
}

/** Posts a chat request and collects SSE events with their arrival times. */
export function openStream(url: string, cookie: string, body: unknown): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const startedAt = Date.now();
    const req = request(`${url}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), cookie },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const events: StreamEvent[] = [];
      const heartbeats: number[] = [];
      let raw = '';
      let buffer = '';
      const done = new Promise<string>((resolveDone) => {
        res.on('data', (chunk: Buffer) => {
          const text = chunk.toString('utf8');
          raw += text;
          buffer += text;
          let boundary = buffer.indexOf('\n\n');
          while (boundary !== -1) {
            const block = buffer.slice(0, boundary);
            buffer = buffer.slice(boundary + 2);
            if (block.startsWith(':')) heartbeats.push(Date.now());
            else events.push({ data: block.replace(/^data: /gm, ''), at: Date.now() });
            boundary = buffer.indexOf('\n\n');
          }
        });
        res.on('end', () => resolveDone(raw));
        res.on('close', () => resolveDone(raw));
        res.on('error', () => resolveDone(raw));
      });
      resolve({ res, req, events, heartbeats, done, startedAt });
    });
    req.end(payload);
  });
}
